using System.Runtime.InteropServices;
using BrainTumor.Onnx.Proto;
using static BrainTumor.Onnx.OnnxGraphBuilder;

namespace BrainTumor.Onnx;

/// <summary>A head whose gradient cannot be written: an operator without a rule, or a form of one that is not supported.</summary>
public sealed class GradCamGraphException(string message) : Exception(message);

/// <summary>
/// Builds, out of ONNX operators, the gradient of a score with respect to the Grad-CAM feature map through the
/// network's head (the nodes between the feature map and the logits): reverse-mode differentiation with one
/// analytic rule per supported operator. Both our exporter (<see cref="OnnxExporter"/>) and the importer of other
/// tools' models use it, so an operator is taught once.
/// </summary>
/// <param name="shapes">The shape of every tensor in the head, with a batch of one.</param>
public sealed class HeadDifferentiator(OnnxGraphBuilder builder, IReadOnlyDictionary<string, long[]> shapes, long opset)
{
    public static readonly IReadOnlySet<string> SupportedOperators = new HashSet<string>
    {
        "GlobalAveragePool", "ReduceMean", "AveragePool", "MaxPool", "Flatten", "Reshape", "Transpose", "Gemm", "MatMul",
        "Add", "Mul", "Relu", "Clip", "Conv", "BatchNormalization", "Dropout", "Identity", "Softmax",
    };

    private readonly Dictionary<string, string> gradients = new(StringComparer.Ordinal);
    private IReadOnlySet<string> dependents = new HashSet<string>();

    /// <param name="head">The head's nodes in graph order.</param>
    /// <param name="dependent">Tensors that depend on the feature map.</param>
    /// <returns>d(score)/d(feature map).</returns>
    public string Differentiate(IReadOnlyList<NodeProto> head, IReadOnlySet<string> dependent, string logits, string logitsGradient,
        string featureMap)
    {
        dependents = dependent;
        gradients[logits] = logitsGradient;
        foreach (var node in head.Reverse())
        {
            if (!gradients.TryGetValue(node.Output[0], out var outputGradient))
            {
                continue;
            }
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (dependent.Contains(node.Input[i]))
                {
                    Accumulate(node.Input[i], Rule(node, i, outputGradient));
                }
            }
        }
        return gradients.TryGetValue(featureMap, out var result)
            ? result
            : throw new GradCamGraphException($"The logits do not depend on '{featureMap}'.");
    }

    private void Accumulate(string tensor, string gradient) =>
        gradients[tensor] = gradients.TryGetValue(tensor, out var existing) ? builder.Single("Add", existing, gradient) : gradient;

    private string Rule(NodeProto node, int input, string dY)
    {
        string x = node.Input[input];
        string y = node.Output[0];
        switch (node.OpType)
        {
            case "Identity" or "Dropout":
                return dY;
            case "Relu":
                return builder.Single("Mul", dY, Mask(builder.Single("Greater", y, Zero)));
            case "Clip":
                RequireInput(node, input, 0, "only its data input may depend on the feature map");
                return ClipGradient(node, dY, y);
            case "Conv":
                RequireInput(node, input, 0, "only its data input may depend on the feature map");
                return ConvGradient(node, dY, x);
            case "Flatten" or "Reshape":
                return builder.Single("Reshape", dY, builder.Single("Shape", x));
            case "Transpose":
            {
                long[] perm = Ints(node, "perm") ?? Enumerable.Range(0, Shape(x).Length).Reverse().Select(i => (long)i).ToArray();
                long[] inverse = new long[perm.Length];
                for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
                return builder.Single("Transpose", [dY], Attribute("perm", inverse));
            }
            case "Gemm":
            {
                RequireInput(node, input, 0, "only its first input (A) may depend on the feature map");
                bool transA = Int(node, "transA") == 1, transB = Int(node, "transB") == 1;
                string b = node.Input[1];
                string gradient = builder.Single("MatMul", dY, transB ? b : builder.Single("Transpose", [b], Attribute("perm", 1L, 0L)));
                float alpha = Float(node, "alpha") ?? 1f;
                if (alpha != 1f)
                {
                    gradient = builder.Single("Mul", gradient, builder.Initializer("gemm_alpha", [alpha]));
                }
                return transA ? builder.Single("Transpose", [gradient], Attribute("perm", 1L, 0L)) : gradient;
            }
            case "MatMul":
            {
                string other = node.Input[1 - input];
                RequireConstantSide(node, other);
                string otherT = builder.Single("Transpose", [other], Attribute("perm", SwapLastTwo(Shape(other).Length)));
                return input == 0 ? builder.Single("MatMul", dY, otherT) : builder.Single("MatMul", otherT, dY);
            }
            case "Add":
                return Unbroadcast(dY, x, y);
            case "Mul":
                RequireConstantSide(node, node.Input[1 - input]);
                return Unbroadcast(builder.Single("Mul", dY, node.Input[1 - input]), x, y);
            case "BatchNormalization":
            {
                RequireInput(node, input, 0, "only its data input may depend on the feature map");
                float epsilon = Float(node, "epsilon") ?? 1e-5f;
                string factor = builder.Single("Div", node.Input[1],
                    builder.Single("Sqrt", builder.Single("Add", node.Input[4], builder.Initializer("bn_epsilon", [epsilon]))));
                long[] perChannel = Enumerable.Range(0, Shape(x).Length).Select(i => i == 1 ? -1L : 1L).ToArray();
                string shape = builder.Initializer("bn_shape", perChannel, perChannel.Length);
                return builder.Single("Mul", dY, builder.Single("Reshape", factor, shape));
            }
            case "GlobalAveragePool":
            {
                long[] shape = Shape(x);
                long area = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
                return Spread(dY, x, area);
            }
            case "ReduceMean":
            {
                long[] shape = Shape(x);
                long[] axes = (opset >= 18 && node.Input.Count > 1 ? ConstantInts(node.Input[1]) : Ints(node, "axes"))
                    ?? Enumerable.Range(0, shape.Length).Select(i => (long)i).ToArray();
                axes = axes.Select(a => a < 0 ? a + shape.Length : a).ToArray();
                long count = axes.Aggregate(1L, (a, axis) => a * shape[axis]);
                string gradient = Int(node, "keepdims") == 0
                    ? builder.Single("Unsqueeze", dY, builder.Initializer("unsqueeze_axes", axes, axes.Length))
                    : dY;
                return Spread(gradient, x, count);
            }
            case "AveragePool":
                return AveragePoolGradient(node, dY, x);
            case "MaxPool":
                return MaxPoolGradient(node, dY, x);
            default:
                throw new GradCamGraphException($"Operator {node.OpType} in node '{NodeName(node)}' is not supported in the Grad-CAM " +
                                                $"head (supported: {string.Join(", ", SupportedOperators.Order())}).");
        }
    }

    private string AveragePoolGradient(NodeProto node, string dY, string x)
    {
        long[] kernel = Ints(node, "kernel_shape")!;
        long[] strides = Ints(node, "strides") ?? [1, 1];
        long[] pads = Ints(node, "pads") ?? [0, 0, 0, 0];
        if (Int(node, "ceil_mode") == 1 || (pads.Any(p => p != 0) && Int(node, "count_include_pad") != 1))
        {
            throw new GradCamGraphException(
                $"AveragePool node '{NodeName(node)}' uses ceil_mode or padding that is not counted; its gradient is not supported.");
        }
        long[] inShape = Shape(x), outShape = Shape(node.Output[0]);
        long channels = inShape[1];
        // Each output spreads its gradient evenly over its window: a transposed depthwise convolution with
        // a constant kernel; output_padding restores rows and columns that the pooling's floor dropped.
        var ones = Enumerable.Repeat(1f / (kernel[0] * kernel[1]), (int)(channels * kernel[0] * kernel[1])).ToArray();
        string weights = builder.Initializer("avgpool_grad_kernel", ones, channels, 1, kernel[0], kernel[1]);
        long[] extra = new[] { 0, 1 }
            .Select(d => inShape[2 + d] - ((outShape[2 + d] - 1) * strides[d] - pads[d] - pads[d + 2] + kernel[d])).ToArray();
        return builder.Single("ConvTranspose", [dY, weights],
            Attribute("group", channels), Attribute("kernel_shape", kernel), Attribute("strides", strides),
            Attribute("pads", pads), Attribute("output_padding", extra));
    }

    /// <summary>
    /// A clip (ReLU6) passes the gradient where min &lt; x &lt; max. The output is compared rather than the input, as for Relu, so
    /// that the gradient graph reads no tensor between a convolution and its clip and ONNX Runtime can still fuse the two.
    /// Its bounds are inputs, absent when empty (opset 11 on; older models are refused before they get here).
    /// </summary>
    private string ClipGradient(NodeProto node, string dY, string y)
    {
        string gradient = dY;
        if (node.Input.Count > 1 && node.Input[1].Length > 0)
        {
            gradient = builder.Single("Mul", gradient, Mask(builder.Single("Greater", y, node.Input[1])));
        }
        if (node.Input.Count > 2 && node.Input[2].Length > 0)
        {
            gradient = builder.Single("Mul", gradient, Mask(builder.Single("Less", y, node.Input[2])));
        }
        return gradient;
    }

    /// <summary>
    /// The gradient of a convolution with respect to its input is the transposed convolution of dY with the same weights,
    /// strides, pads, dilations and groups (ConvTranspose reads Conv's [M, C/group, k...] kernel as it is, depthwise included);
    /// output_padding restores the rows and columns past the last window, which the forward floor dropped and get no gradient.
    /// </summary>
    private string ConvGradient(NodeProto node, string dY, string x)
    {
        if (Find(node, "auto_pad") is { } autoPad && autoPad.S.ToStringUtf8() is not ("NOTSET" or "VALID"))
        {
            throw new GradCamGraphException(
                $"Conv node '{NodeName(node)}' pads with auto_pad {autoPad.S.ToStringUtf8()}; its gradient is not supported.");
        }
        long[] inShape = Shape(x), outShape = Shape(node.Output[0]);
        int rank = inShape.Length - 2;
        long[] kernel = Ints(node, "kernel_shape") ?? Shape(node.Input[1])[2..];
        long[] strides = Ints(node, "strides") ?? Enumerable.Repeat(1L, rank).ToArray();
        long[] dilations = Ints(node, "dilations") ?? Enumerable.Repeat(1L, rank).ToArray();
        long[] pads = Ints(node, "pads") ?? new long[2 * rank];
        long[] extra = Enumerable.Range(0, rank).Select(d =>
        {
            long covered = (outShape[2 + d] - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - pads[d] - pads[rank + d];
            return inShape[2 + d] - covered;
        }).ToArray();
        return builder.Single("ConvTranspose", [dY, node.Input[1]],
            Attribute("group", Int(node, "group") ?? 1L), Attribute("kernel_shape", kernel), Attribute("strides", strides),
            Attribute("dilations", dilations), Attribute("pads", pads), Attribute("output_padding", extra));
    }

    private string MaxPoolGradient(NodeProto node, string dY, string x)
    {
        if (Int(node, "ceil_mode") == 1 || (Ints(node, "dilations") ?? new long[] { 1, 1 }).Any(d => d != 1)
            || Int(node, "storage_order") == 1)
        {
            throw new GradCamGraphException(
                $"MaxPool node '{NodeName(node)}' uses ceil_mode, dilations or column-major indices; its gradient is not supported.");
        }
        if (node.Output.Count < 2 || string.IsNullOrEmpty(node.Output[1]))
        {
            // The pooling is asked to also say where each maximum came from.
            if (node.Output.Count < 2) node.Output.Add(builder.FreshName($"{NodeName(node)}_indices"));
            else node.Output[1] = builder.FreshName($"{NodeName(node)}_indices");
        }
        long[] kernel = Ints(node, "kernel_shape")!;
        long[] strides = Ints(node, "strides") ?? [1, 1];
        var attributes = new List<AttributeProto> { Attribute("kernel_shape", kernel), Attribute("strides", strides) };
        if (Ints(node, "pads") is long[] pads) attributes.Add(Attribute("pads", pads));
        bool overlapping = kernel.Zip(strides).Any(p => p.First > p.Second);
        if (overlapping && opset < 16)
        {
            throw new GradCamGraphException(
                $"MaxPool node '{NodeName(node)}' has overlapping windows; its gradient needs opset 16 or newer (the model has {opset}).");
        }
        return GradCamGraph.MaxPoolGradient(builder, dY, node.Output[1], x, attributes, overlapping);
    }

    /// <summary>A gradient of a mean: repeated over the input's shape and divided by the number of values averaged.</summary>
    private string Spread(string gradient, string x, long count) =>
        builder.Single("Mul", builder.Single("Expand", gradient, builder.Single("Shape", x)),
            builder.Initializer("inverse_count", [1f / count]));

    /// <summary>Sums a gradient over the axes along which <paramref name="x"/> was broadcast to the output's shape.</summary>
    private string Unbroadcast(string gradient, string x, string y)
    {
        long[] xShape = Shape(x), yShape = Shape(y);
        if (xShape.SequenceEqual(yShape))
        {
            return gradient;
        }
        int offset = yShape.Length - xShape.Length;
        long[] axes = Enumerable.Range(0, yShape.Length)
            .Where(axis => axis < offset || (xShape[axis - offset] == 1 && yShape[axis] != 1))
            .Select(axis => (long)axis).ToArray();
        string reduced = axes.Length == 0 ? gradient
            : builder.Single("ReduceSum", [gradient, builder.Initializer("unbroadcast_axes", axes, axes.Length)],
                Attribute("keepdims", 1L));
        return builder.Single("Reshape", reduced, builder.Single("Shape", x));
    }

    /// <summary>1 where a condition holds, 0 elsewhere, as floats to multiply a gradient by.</summary>
    private string Mask(string condition) => builder.Single("Cast", [condition], Attribute("to", (long)TensorProto.Types.DataType.Float));

    private string Zero => zero ??= builder.Initializer("zero", [0f]);
    private string? zero;

    private long[] Shape(string tensor) => shapes.TryGetValue(tensor, out var shape)
        ? shape
        : throw new GradCamGraphException($"The shape of tensor '{tensor}' is unknown.");

    private void RequireConstantSide(NodeProto node, string other)
    {
        if (dependents.Contains(other))
        {
            throw new GradCamGraphException(
                $"{node.OpType} node '{NodeName(node)}' multiplies two tensors that both depend on the feature map; not supported.");
        }
    }

    private static void RequireInput(NodeProto node, int input, int allowed, string why)
    {
        if (input != allowed)
        {
            throw new GradCamGraphException($"{node.OpType} node '{NodeName(node)}': {why}.");
        }
    }

    private long[]? ConstantInts(string tensor) =>
        builder.Graph.Initializer.FirstOrDefault(i => i.Name == tensor) is TensorProto t
            ? (t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray() : t.Int64Data.ToArray())
            : throw new GradCamGraphException($"The axes '{tensor}' must be a constant initializer.");

    public static string NodeName(NodeProto node) => string.IsNullOrEmpty(node.Name) ? $"{node.OpType} -> {node.Output[0]}" : node.Name;

    private static AttributeProto? Find(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);
    private static long[]? Ints(NodeProto node, string name) => Find(node, name)?.Ints.ToArray();
    private static long? Int(NodeProto node, string name) => Find(node, name) is { } a ? a.I : null;
    private static float? Float(NodeProto node, string name) => Find(node, name) is { } a ? a.F : null;
    private static long[] SwapLastTwo(int rank) =>
        Enumerable.Range(0, rank).Select(i => (long)(i == rank - 2 ? rank - 1 : i == rank - 1 ? rank - 2 : i)).ToArray();
}
