using BrainTumor.Onnx;
using BrainTumor.Onnx.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using static BrainTumor.Onnx.OnnxGraphBuilder;
using DataType = BrainTumor.Onnx.Proto.TensorProto.Types.DataType;

namespace BrainTumor.Import.Tests;

/// <summary>
/// Hand-built classifiers: a convolution and ReLU make the feature map "features" [N, 4, 8, 8]; a head under
/// test turns it into logits. The same head also builds a model that takes the feature map as its input,
/// so that finite differences of its logits give an independent Grad-CAM reference.
/// </summary>
internal static class TestGraphs
{
    public const int Channels = 4, Side = 8, Classes = 3;

    /// <summary>Emits the head from the feature map and returns the logits tensor.</summary>
    public delegate string Head(OnnxGraphBuilder builder, string features, Random random);

    public static float[] Uniform(Random random, int count, double low, double high) =>
        Enumerable.Range(0, count).Select(_ => (float)(low + random.NextDouble() * (high - low))).ToArray();

    /// <summary>The whole classifier: input [N, 3, 8, 8] (or [N, 8, 8, 3]), softmax output.</summary>
    public static ModelProto Classifier(Head head, bool channelsLastInput = false, int seed = 1, long opset = 17)
    {
        var random = new Random(seed);
        var builder = new OnnxGraphBuilder("test");
        string input = "image";
        string nchw = input;
        if (channelsLastInput)
        {
            builder.Input(input, DataType.Float, "N", Side, Side, 3);
            nchw = builder.Single("Transpose", [input], Attribute("perm", 0L, 3L, 1L, 2L));
        }
        else
        {
            builder.Input(input, DataType.Float, "N", 3, Side, Side);
        }
        string weight = builder.Initializer("conv.weight", Uniform(random, Channels * 3 * 9, -0.4, 0.6), Channels, 3, 3, 3);
        string bias = builder.Initializer("conv.bias", Uniform(random, Channels, 0.0, 0.2), Channels);
        string conv = builder.Single("Conv", [nchw, weight, bias], Attribute("kernel_shape", 3L, 3L), Attribute("pads", 1L, 1L, 1L, 1L));
        string features = builder.Node("Relu", [conv], outputs: ["features"])[0];
        string logits = head(builder, features, random);
        builder.Node("Softmax", [logits], attributes: [Attribute("axis", 1L)], outputs: ["prob"]);
        builder.Output("prob", DataType.Float, "N", Classes);
        return Wrap(builder, opset);
    }

    /// <summary>The head alone: the feature map is the input, the logits the output (same seed, same weights).</summary>
    public static ModelProto HeadOnly(Head head, int seed = 1, long opset = 17, bool channelsLast = false)
    {
        var random = new Random(seed);
        Uniform(random, Channels * 3 * 9, 0, 1);
        Uniform(random, Channels, 0, 1);
        var builder = new OnnxGraphBuilder("head");
        if (channelsLast)
        {
            builder.Input("features", DataType.Float, "N", Side, Side, Channels);
        }
        else
        {
            builder.Input("features", DataType.Float, "N", Channels, Side, Side);
        }
        string logits = head(builder, "features", random);
        builder.Node("Identity", [logits], outputs: ["head_logits"]);
        builder.Output("head_logits", DataType.Float, "N", Classes);
        return Wrap(builder, opset);
    }

    private static ModelProto Wrap(OnnxGraphBuilder builder, long opset)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "hand-built", Graph = builder.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static float[][] Run(ModelProto model, string inputName, float[] input, long[] shape, IReadOnlyList<string> outputs,
        long[]? target = null)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        var feeds = new Dictionary<string, OrtValue> { [inputName] = value };
        using var targetValue = target is null ? null : OrtValue.CreateTensorValueFromMemory(target, [target.Length]);
        if (targetValue is not null)
        {
            feeds[ModelTensorNames.TargetClass] = targetValue;
        }
        using var results = session.Run(new RunOptions(), feeds, outputs);
        return results.Select(r => r.GetTensorDataAsSpan<float>().ToArray()).ToArray();
    }

    /// <summary>Grad-CAM of one image from central differences of the head-only model's logit.</summary>
    /// <param name="channelsLast">The feature map is [H, W, C] rather than [C, H, W].</param>
    public static double[] FiniteDifferenceCam(ModelProto headOnly, float[] features, int targetClass, float step = 1e-3f,
        bool channelsLast = false)
    {
        int count = features.Length;
        var batch = new float[2 * count * count];
        for (int i = 0; i < count; i++)
        {
            features.CopyTo(batch, 2 * i * count);
            features.CopyTo(batch, (2 * i + 1) * count);
            batch[2 * i * count + i] += step;
            batch[(2 * i + 1) * count + i] -= step;
        }
        long[] shape = channelsLast ? [2 * count, Side, Side, Channels] : [2 * count, Channels, Side, Side];
        float[] logits = Run(headOnly, "features", batch, shape, ["head_logits"])[0];
        int plane = Side * Side;
        int Index(int k, int p) => channelsLast ? p * Channels + k : k * plane + p;
        var cam = new double[plane];
        for (int k = 0; k < Channels; k++)
        {
            double sum = 0;
            for (int p = 0; p < plane; p++)
            {
                int i = Index(k, p);
                sum += (logits[2 * i * Classes + targetClass] - (double)logits[(2 * i + 1) * Classes + targetClass]) / (2 * step);
            }
            for (int p = 0; p < plane; p++)
            {
                cam[p] += sum / plane * features[Index(k, p)];
            }
        }
        return cam.Select(v => Math.Max(v, 0)).ToArray();
    }
}
