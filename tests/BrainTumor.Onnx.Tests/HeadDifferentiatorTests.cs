using BrainTumor.Onnx.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using static BrainTumor.Onnx.OnnxGraphBuilder;
using DataType = BrainTumor.Onnx.Proto.TensorProto.Types.DataType;

namespace BrainTumor.Onnx.Tests;

/// <summary>
/// The gradient rules of <see cref="HeadDifferentiator"/> against finite differences: a tiny head from a feature map x to the
/// logits, run by ONNX Runtime. The whole d(logit)/dx is compared, not only the spatial mean Grad-CAM takes from it, so a
/// kernel flipped or shifted the wrong way fails too.
/// </summary>
public class HeadDifferentiatorTests
{
    private const int Classes = 3;
    private const float Step = 1e-2f;

    /// <summary>Emits a head from the feature map <paramref name="x"/> and returns its logits, [N, classes].</summary>
    private delegate string Head(OnnxGraphBuilder builder, string x, Random random);

    public static TheoryData<string> Heads => new()
    {
        "strided-padded-conv", "strided-conv-dropping-a-row", "dilated-depthwise-conv", "grouped-rectangular-conv", "relu6",
        "clip-min-only", "inverted-residual", "bottleneck-with-projection",
    };

    private static (long[] Shape, Head Head) HeadNamed(string name) => name switch
    {
        // 3x3, stride 2, pads 1 on 8x8: a transposed convolution gives 7 rows, output_padding the eighth.
        "strided-padded-conv" => ([1, 3, 8, 8], (b, x, r) =>
            Dense(b, Conv(b, x, r, 3, 5, [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]), 5 * 4 * 4, r)),
        // 3x3, stride 2, no padding on 8x8: the last row and column are in no window, so their gradient is zero.
        "strided-conv-dropping-a-row" => ([1, 3, 8, 8], (b, x, r) => Dense(b, Conv(b, x, r, 3, 4, [3, 3], strides: [2, 2]), 4 * 3 * 3, r)),
        "dilated-depthwise-conv" => ([1, 4, 7, 7], (b, x, r) =>
            Dense(b, Conv(b, x, r, 4, 4, [3, 3], dilations: [2, 2], pads: [2, 0, 1, 1], group: 4), 4 * 6 * 4, r)),
        "grouped-rectangular-conv" => ([1, 4, 8, 6], (b, x, r) =>
            Dense(b, Conv(b, x, r, 4, 6, [3, 2], strides: [2, 1], group: 2), 6 * 3 * 5, r)),
        // Values from -2.5 to 7.5: some below, some inside, some above the bounds.
        "relu6" => ([1, 2, 5, 5], (b, x, r) => Dense(b, Clip(b, Spread(b, x), 0f, 6f), 2 * 5 * 5, r)),
        "clip-min-only" => ([1, 2, 5, 5], (b, x, r) => Dense(b, Clip(b, Spread(b, x), 1f, null), 2 * 5 * 5, r)),
        // MobileNetV2's block: 1x1 expand, ReLU6, 3x3 depthwise, ReLU6, 1x1 project, identity shortcut; then its head.
        "inverted-residual" => ([1, 4, 6, 6], (b, x, r) =>
        {
            string expanded = Clip(b, Conv(b, x, r, 4, 8, [1, 1]), 0f, 6f);
            string depthwise = Clip(b, Conv(b, expanded, r, 8, 8, [3, 3], pads: [1, 1, 1, 1], group: 8), 0f, 6f);
            string block = b.Single("Add", Conv(b, depthwise, r, 8, 4, [1, 1]), x);
            return Dense(b, b.Single("Flatten", [b.Single("GlobalAveragePool", block)], Attribute("axis", 1L)), 4, r, flatten: false);
        }),
        // ResNet's downsampling bottleneck: 1x1, ReLU, 3x3 stride 2, ReLU, 1x1, plus a strided 1x1 projection, ReLU.
        "bottleneck-with-projection" => ([1, 4, 7, 7], (b, x, r) =>
        {
            string reduced = b.Single("Relu", Conv(b, x, r, 4, 2, [1, 1]));
            string spatial = b.Single("Relu", Conv(b, reduced, r, 2, 2, [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]));
            string main = Conv(b, spatial, r, 2, 6, [1, 1]);
            string projection = Conv(b, x, r, 4, 6, [1, 1], strides: [2, 2]);
            return Dense(b, b.Single("Relu", b.Single("Add", main, projection)), 6 * 4 * 4, r);
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Heads))]
    public void TheGradientThroughEveryHeadMatchesFiniteDifferences(string headName)
    {
        var (shape, head) = HeadNamed(headName);
        var (forward, backward) = Models(head, shape);
        float[] x = Uniform(new Random(3), (int)shape.Aggregate((a, b) => a * b), -0.25, 0.75);

        var (ahead, behind) = OneSidedDifferences(forward, x, shape);
        for (int c = 0; c < Classes; c++)
        {
            float[] oneHot = Enumerable.Range(0, Classes).Select(k => k == c ? 1f : 0f).ToArray();
            float[] gradient = Run(backward, x, shape, oneHot);
            double scale = ahead[c].Max(Math.Abs);
            Assert.True(scale > 1e-3, $"{headName}: the logit of class {c} hardly depends on x");
            for (int i = 0; i < x.Length; i++)
            {
                // The heads are piecewise linear: a one-sided difference is exact (up to float rounding) unless a ReLU's or clip's kink
                // lies within a step on that side, so the gradient must match at least one of the two.
                double error = Math.Min(Math.Abs(ahead[c][i] - gradient[i]), Math.Abs(behind[c][i] - gradient[i]));
                Assert.True(error < 1e-2 * scale, $"{headName}, class {c}, element {i}: {gradient[i]} vs {ahead[c][i]} / {behind[c][i]}");
            }
        }
    }

    [Fact]
    public void ReluSixPassesTheGradientOnlyBetweenItsBounds()
    {
        long[] shape = [1, 1, 1, 4];
        var (_, backward) = Models((b, x, r) => b.Single("MatMul", b.Single("Flatten", [Clip(b, x, 0f, 6f)], Attribute("axis", 1L)),
            b.Initializer("w", Enumerable.Repeat(1f, 4 * Classes).ToArray(), 4, Classes)), shape);

        float[] gradient = Run(backward, [-1f, 0.5f, 5.5f, 7f], shape, [1f, 0f, 0f]);

        Assert.Equal([0f, 1f, 1f, 0f], gradient);
    }

    [Fact]
    public void AConvolutionPaddedByAutoPadSameIsRefusedByName()
    {
        Head head = (b, x, r) =>
        {
            var same = new AttributeProto
            {
                Name = "auto_pad", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("SAME_UPPER"),
            };
            string conv = b.Single("Conv", [x, b.Initializer("w", new float[9], 1, 1, 3, 3)], same);
            return Dense(b, conv, 16, r);
        };

        var error = Assert.Throws<GradCamGraphException>(() => Models(head, [1, 1, 4, 4]));

        Assert.Contains("Conv node 'Conv'", error.Message);
        Assert.Contains("SAME_UPPER", error.Message);
    }

    private static string Conv(OnnxGraphBuilder b, string x, Random r, int inChannels, int outChannels, long[] kernel,
        long[]? strides = null, long[]? dilations = null, long[]? pads = null, int group = 1)
    {
        int weights = (int)(outChannels * inChannels / group * kernel[0] * kernel[1]);
        string w = b.Initializer("w", Uniform(r, weights, -1, 1), outChannels, inChannels / group, kernel[0], kernel[1]);
        var attributes = new List<AttributeProto> { Attribute("kernel_shape", kernel), Attribute("group", (long)group) };
        if (strides is not null) attributes.Add(Attribute("strides", strides));
        if (dilations is not null) attributes.Add(Attribute("dilations", dilations));
        if (pads is not null) attributes.Add(Attribute("pads", pads));
        return b.Single("Conv", [x, w, b.Initializer("bias", Uniform(r, outChannels, -0.2, 0.2), outChannels)], [.. attributes]);
    }

    /// <summary>x times 10: from -2.5 to 7.5, some values below, some inside and some above the bounds of the clips.</summary>
    private static string Spread(OnnxGraphBuilder b, string x) => b.Single("Mul", x, b.Initializer("spread", [10f]));

    /// <summary>Clip with constant bounds; a null bound is left out (an empty input name).</summary>
    private static string Clip(OnnxGraphBuilder b, string x, float? min, float? max) =>
        b.Single("Clip", [x, min is float low ? b.Initializer("min", [low]) : "", max is float high ? b.Initializer("max", [high]) : ""]);

    /// <summary>Flatten (unless already flat) and a dense layer to the logits, so that the gradient differs from place to place.</summary>
    private static string Dense(OnnxGraphBuilder b, string x, int features, Random r, bool flatten = true) =>
        b.Single("Gemm", [flatten ? b.Single("Flatten", [x], Attribute("axis", 1L)) : x,
            b.Initializer("dense", Uniform(r, Classes * features, -1, 1), Classes, features)], Attribute("transB", 1L));

    /// <summary>
    /// The head alone (input x, output the logits), and the head with the gradient of the logits weighted by the input
    /// <c>one_hot</c> with respect to x, as <see cref="HeadDifferentiator"/> builds it (output <c>gradient</c>, batch of one).
    /// </summary>
    private static (ModelProto Forward, ModelProto Backward) Models(Head head, long[] shape)
    {
        var builder = new OnnxGraphBuilder("head");
        builder.Input("x", DataType.Float, "N", shape[1], shape[2], shape[3]);
        string logits = head(builder, "x", new Random(1));
        builder.Output(logits, DataType.Float, "N", Classes);
        var forward = Wrap(builder.Graph.Clone());

        var nodes = builder.Graph.Node.ToList();
        var dependent = nodes.SelectMany(n => n.Output).Append("x").ToHashSet(StringComparer.Ordinal);
        builder.Input("one_hot", DataType.Float, 1, Classes);
        string gradient = new HeadDifferentiator(builder, Shapes(forward, shape), OnnxExporter.OpsetVersion)
            .Differentiate(nodes, dependent, logits, "one_hot", "x");
        builder.Node("Identity", [gradient], outputs: ["gradient"]);
        builder.Output("gradient", DataType.Float, shape.Select(d => (object)d).ToArray());
        return (forward, Wrap(builder.Graph));
    }

    /// <summary>Every tensor's shape for a batch of one, from a run with every node output exposed.</summary>
    private static Dictionary<string, long[]> Shapes(ModelProto forward, long[] shape)
    {
        var probe = forward.Clone();
        var declared = probe.Graph.Output.Select(o => o.Name).ToHashSet();
        var hidden = probe.Graph.Node.SelectMany(n => n.Output).Where(o => !declared.Contains(o));
        probe.Graph.Output.AddRange(hidden.Select(o => new ValueInfoProto { Name = o }));
        using var session = new InferenceSession(probe.ToByteArray());
        using var input = OrtValue.CreateTensorValueFromMemory(new float[shape.Aggregate((a, b) => a * b)], shape);
        var names = probe.Graph.Output.Select(o => o.Name).ToList();
        using var results = session.Run(new RunOptions(), new Dictionary<string, OrtValue> { ["x"] = input }, names);
        var shapes = names.Select((name, i) => (name, results[i].GetTensorTypeAndShape().Shape)).ToDictionary(p => p.name, p => p.Shape);
        shapes["x"] = shape;
        foreach (var initializer in forward.Graph.Initializer)
        {
            shapes[initializer.Name] = initializer.Dims.ToArray();
        }
        return shapes;
    }

    /// <summary>d(logit of each class)/dx by forward and by backward differences, from one batch: x, then x moved up and down by a step at
    /// each element in turn.</summary>
    private static (double[][] Ahead, double[][] Behind) OneSidedDifferences(ModelProto forward, float[] x, long[] shape)
    {
        int count = x.Length;
        var batch = new float[(2 * count + 1) * count];
        x.CopyTo(batch, 0);
        for (int i = 0; i < count; i++)
        {
            x.CopyTo(batch, (2 * i + 1) * count);
            x.CopyTo(batch, (2 * i + 2) * count);
            batch[(2 * i + 1) * count + i] += Step;
            batch[(2 * i + 2) * count + i] -= Step;
        }
        using var session = new InferenceSession(forward.ToByteArray());
        using var input = OrtValue.CreateTensorValueFromMemory(batch, [2 * count + 1, shape[1], shape[2], shape[3]]);
        var feeds = new Dictionary<string, OrtValue> { ["x"] = input };
        using var results = session.Run(new RunOptions(), feeds, [forward.Graph.Output[0].Name]);
        var logits = results[0].GetTensorDataAsSpan<float>().ToArray();
        double Difference(int copy, int c, int sign) => sign * (logits[copy * Classes + c] - (double)logits[c]) / Step;
        double[][] Differences(int offset, int sign) => Enumerable.Range(0, Classes)
            .Select(c => Enumerable.Range(0, count).Select(i => Difference(2 * i + offset, c, sign)).ToArray())
            .ToArray();
        return (Differences(1, 1), Differences(2, -1));
    }

    private static float[] Run(ModelProto backward, float[] x, long[] shape, float[] oneHot)
    {
        using var session = new InferenceSession(backward.ToByteArray());
        using var input = OrtValue.CreateTensorValueFromMemory(x, shape);
        using var weights = OrtValue.CreateTensorValueFromMemory(oneHot, [1, Classes]);
        var feeds = new Dictionary<string, OrtValue> { ["x"] = input, ["one_hot"] = weights };
        using var results = session.Run(new RunOptions(), feeds, ["gradient"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static ModelProto Wrap(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = OnnxExporter.IrVersion, ProducerName = "hand-built", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxExporter.OpsetVersion });
        return model;
    }

    private static float[] Uniform(Random random, int count, double low, double high) =>
        Enumerable.Range(0, count).Select(_ => (float)(low + random.NextDouble() * (high - low))).ToArray();
}
