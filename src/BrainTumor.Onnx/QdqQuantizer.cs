using System.Runtime.InteropServices;
using BrainTumor.Onnx.Proto;
using static BrainTumor.Onnx.OnnxGraphBuilder;
using DataType = BrainTumor.Onnx.Proto.TensorProto.Types.DataType;

namespace BrainTumor.Onnx;

/// <summary>The smallest and largest value calibration accepts for one activation tensor.</summary>
public readonly record struct ActivationRange(float Min, float Max);

/// <summary>
/// Rewrites a float model in ONNX's QDQ form (QuantizeLinear / DequantizeLinear pairs) so that ONNX Runtime runs its
/// convolutions and residual additions with 8-bit kernels: weights int8, symmetric, one scale per output channel;
/// activations uint8, one scale and zero point per tensor, from calibrated ranges; biases int32 at the product scale.
/// Everything else (Grad-CAM's graph, the head, gates) stays in float and reads the dequantised activations.
/// </summary>
public static class QdqQuantizer
{
    private static readonly HashSet<string> QuantizedOps = new(StringComparer.Ordinal) { "Conv", "Add" };
    // An activation between a quantised op and its Q node is folded into the quantisation by ONNX Runtime (ReluQuantFusion,
    // ClipQuantFusion) when the zero point is the type's minimum, which a range starting at 0 gives.
    private static readonly HashSet<string> FoldedActivations = new(StringComparer.Ordinal) { "Relu", "Clip" };

    /// <summary>
    /// The activation tensors that get a Q/DQ pair, in graph order: in the layers that compute <paramref name="trunkEnd"/> (the
    /// Grad-CAM layer; the head and the gradient graph after it stay float), the inputs of every Conv and Add, and their
    /// outputs (after a Relu or Clip that only they feed). A MaxPool fed by one of them passes it on: its output shares the
    /// input's scale, so that it runs on the 8-bit values directly.
    /// </summary>
    public static IReadOnlyList<string> ActivationTensors(GraphProto graph, string trunkEnd)
    {
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var consumers = Consumers(graph);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var trunk = Ancestors(graph, trunkEnd);
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node.Where(n => QuantizedOps.Contains(n.OpType) && trunk.Contains(n)))
        {
            var activations = node.OpType == "Conv" ? node.Input.Take(1) : node.Input;
            chosen.UnionWith(activations.Where(input => !initializers.Contains(input)));
            string output = node.Output[0];
            while (!outputs.Contains(output) && consumers.TryGetValue(output, out var next) && next.Count == 1 && FoldedActivations.Contains(next[0].OpType))
            {
                output = next[0].Output[0];
            }
            chosen.Add(output);
        }
        foreach (var pool in graph.Node.Where(n => n.OpType == "MaxPool" && trunk.Contains(n) && chosen.Contains(n.Input[0])))
        {
            chosen.Add(pool.Output[0]);
        }
        var order = graph.Input.Select(i => i.Name).Concat(graph.Node.SelectMany(n => n.Output)).ToList();
        return order.Where(chosen.Contains).ToList();
    }

    /// <summary>A copy of <paramref name="model"/> that also outputs <paramref name="tensors"/>, for measuring their ranges.</summary>
    public static ModelProto WithOutputs(ModelProto model, IEnumerable<string> tensors)
    {
        var copy = model.Clone();
        var existing = copy.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (string tensor in tensors.Where(t => !existing.Contains(t)))
        {
            copy.Graph.Output.Add(new ValueInfoProto
            {
                Name = tensor,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } },
            });
        }
        return copy;
    }

    /// <summary>
    /// The QDQ model. <paramref name="ranges"/> holds a range for every tensor of <see cref="ActivationTensors"/> (a MaxPool's
    /// output is given its input's range whatever is passed).
    /// </summary>
    public static ModelProto Quantize(ModelProto model, string trunkEnd, IReadOnlyDictionary<string, ActivationRange> ranges)
    {
        var quantized = model.Clone();
        var graph = quantized.Graph;
        var tensors = ActivationTensors(graph, trunkEnd);
        var producers = graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n, StringComparer.Ordinal);
        var parameters = new Dictionary<string, (float Scale, byte ZeroPoint)>(StringComparer.Ordinal);
        foreach (string tensor in tensors)
        {
            parameters[tensor] = producers.TryGetValue(tensor, out var producer) && producer.OpType == "MaxPool" && parameters.TryGetValue(producer.Input[0], out var shared)
                ? shared
                : Uint8Parameters(ranges.TryGetValue(tensor, out var range)
                    ? range
                    : throw new ArgumentException($"No calibrated range for the activation '{tensor}'.", nameof(ranges)));
        }

        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var nodes = graph.Node.ToList();
        var readBefore = nodes.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        graph.Node.Clear();
        var builder = new OnnxGraphBuilder(graph, ModelTensorNames.All);
        var dequantised = new Dictionary<string, (string Name, float Scale)>(StringComparer.Ordinal);
        foreach (var input in graph.Input.Where(i => parameters.ContainsKey(i.Name)))
        {
            dequantised[input.Name] = EmitQdq(builder, input.Name, parameters[input.Name]);
        }
        foreach (var node in nodes)
        {
            if (node.OpType == "Conv" && dequantised.TryGetValue(node.Input[0], out var convInput))
            {
                float inputScale = convInput.Scale;
                node.Input[1] = EmitWeights(builder, initializers[node.Input[1]], node.Input.Count > 2 ? initializers[node.Input[2]] : null,
                    inputScale, out string? bias);
                if (bias is not null)
                {
                    node.Input[2] = bias;
                }
            }
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (dequantised.TryGetValue(node.Input[i], out var replacement))
                {
                    node.Input[i] = replacement.Name;
                }
            }
            graph.Node.Add(node);
            foreach (string output in node.Output.Where(parameters.ContainsKey))
            {
                dequantised[output] = EmitQdq(builder, output, parameters[output]);
            }
        }
        // The float weights the int8 ones replace are dropped unless something else (a gradient graph) still reads them.
        var read = graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        foreach (var unused in graph.Initializer.Where(i => !read.Contains(i.Name) && readBefore.Contains(i.Name)).ToList())
        {
            graph.Initializer.Remove(unused);
        }
        return quantized;
    }

    /// <summary>uint8 scale and zero point covering the range and 0 (so that zero padding is exact).</summary>
    public static (float Scale, byte ZeroPoint) Uint8Parameters(ActivationRange range)
    {
        float min = Math.Min(range.Min, 0f);
        float max = Math.Max(range.Max, 0f);
        float scale = max > min ? (max - min) / 255f : 1f;
        return (scale, (byte)Math.Clamp(MathF.Round(-min / scale), 0, 255));
    }

    private static (string Name, float Scale) EmitQdq(OnnxGraphBuilder builder, string tensor, (float Scale, byte ZeroPoint) parameters)
    {
        string scale = builder.Initializer($"{tensor}_scale", [parameters.Scale]);
        string zeroPoint = builder.Initializer($"{tensor}_zero_point", DataType.Uint8, [parameters.ZeroPoint]);
        string quantized = builder.Node("QuantizeLinear", [tensor, scale, zeroPoint], name: $"{tensor}_quantize")[0];
        return (builder.Node("DequantizeLinear", [quantized, scale, zeroPoint], name: $"{tensor}_dequantize")[0], parameters.Scale);
    }

    /// <summary>int8 weights with one symmetric scale per output channel, and the int32 bias at scale input x weight.</summary>
    private static string EmitWeights(OnnxGraphBuilder builder, TensorProto weight, TensorProto? bias, float inputScale, out string? dequantisedBias)
    {
        float[] values = FloatValues(weight);
        int channels = (int)weight.Dims[0];
        int perChannel = values.Length / channels;
        var scales = new float[channels];
        var quantized = new byte[values.Length];
        for (int c = 0; c < channels; c++)
        {
            var span = values.AsSpan(c * perChannel, perChannel);
            float largest = 0;
            foreach (float v in span)
            {
                largest = Math.Max(largest, Math.Abs(v));
            }
            scales[c] = largest > 0 ? largest / 127f : 1f;
            for (int i = 0; i < perChannel; i++)
            {
                quantized[c * perChannel + i] = (byte)(sbyte)Math.Clamp(MathF.Round(span[i] / scales[c]), -127, 127);
            }
        }
        var axis = Attribute("axis", 0L);
        string weightScale = builder.Initializer($"{weight.Name}_scale", scales, channels);
        string weightZero = builder.Initializer($"{weight.Name}_zero_point", DataType.Int8, new byte[channels], channels);
        string weightInt8 = builder.Initializer($"{weight.Name}_int8", DataType.Int8, quantized, [.. weight.Dims]);
        string dequantisedWeight = builder.Single("DequantizeLinear", [weightInt8, weightScale, weightZero], axis);
        dequantisedBias = null;
        if (bias is not null)
        {
            float[] biasValues = FloatValues(bias);
            var biasScales = scales.Select(s => s * inputScale).ToArray();
            var biasInt32 = biasValues.Select((b, c) => (int)Math.Clamp(Math.Round(b / (double)biasScales[c]), int.MinValue, int.MaxValue)).ToArray();
            string biasScale = builder.Initializer($"{bias.Name}_scale", biasScales, channels);
            string biasZero = builder.Initializer($"{bias.Name}_zero_point", DataType.Int32, new byte[4 * channels], channels);
            string biasQuantized = builder.Initializer($"{bias.Name}_int32", DataType.Int32,
                MemoryMarshal.AsBytes(biasInt32.AsSpan()).ToArray(), channels);
            dequantisedBias = builder.Single("DequantizeLinear", [biasQuantized, biasScale, biasZero], axis);
        }
        return dequantisedWeight;
    }

    private static float[] FloatValues(TensorProto tensor)
    {
        if (tensor.DataType != (int)DataType.Float)
        {
            throw new NotSupportedException($"The initializer '{tensor.Name}' is not float; only float models are quantised.");
        }
        return tensor.RawData.Length > 0
            ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray()
            : tensor.FloatData.ToArray();
    }

    /// <summary>The nodes <paramref name="tensor"/> depends on, its producer included.</summary>
    private static HashSet<NodeProto> Ancestors(GraphProto graph, string tensor)
    {
        var producers = graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n, StringComparer.Ordinal);
        if (!producers.ContainsKey(tensor))
        {
            throw new ArgumentException($"No node computes '{tensor}'.", nameof(tensor));
        }
        var found = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<string>([tensor]);
        while (pending.TryPop(out var next))
        {
            if (producers.TryGetValue(next, out var node) && found.Add(node))
            {
                foreach (string input in node.Input)
                {
                    pending.Push(input);
                }
            }
        }
        return found;
    }

    private static Dictionary<string, List<NodeProto>> Consumers(GraphProto graph)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (string input in node.Input)
            {
                if (!consumers.TryGetValue(input, out var list))
                {
                    consumers[input] = list = [];
                }
                list.Add(node);
            }
        }
        return consumers;
    }
}
