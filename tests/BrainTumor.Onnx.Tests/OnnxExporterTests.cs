using BrainTumor.Onnx.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace BrainTumor.Onnx.Tests;

public class OnnxExporterTests
{
    private const int Classes = 3;

    /// <summary>
    /// Conv(pad) -> ReLU [Grad-CAM] -> MaxPool -> Flatten -> Dense -> ReLU -> Dense. Positive inputs and
    /// convolution weights keep the Grad-CAM layer away from ReLU's kink and max-pooling ties, where finite
    /// differences are not defined.
    /// </summary>
    internal static SequentialNetwork Network(int size, int padding, int seed = 7)
    {
        var random = new Random(seed);
        float[] Uniform(int count, double low, double high) =>
            Enumerable.Range(0, count).Select(_ => (float)(low + random.NextDouble() * (high - low))).ToArray();
        int convSide = size + 2 * padding - 2;
        int pooled = convSide / 2;
        int features = 3 * pooled * pooled;
        return new SequentialNetwork(2, size, size,
        [
            new Conv2dLayer("conv1", 2, 3, 3, 1, padding, Uniform(3 * 2 * 9, 0.05, 0.3), Uniform(3, 0.01, 0.1)),
            new ReluLayer("relu1"),
            new MaxPoolLayer("pool1", 2, 2),
            new FlattenLayer("flatten"),
            new DenseLayer("dense1", features, 6, Uniform(6 * features, -0.5, 0.5), Uniform(6, 0.2, 0.6)),
            new ReluLayer("dense1_relu"),
            new DenseLayer("dense2", 6, Classes, Uniform(Classes * 6, -1, 1), Uniform(Classes, -0.1, 0.1)),
        ], GradCamLayerIndex: 1);
    }

    /// <summary>
    /// Strided depthwise conv -> ReLU -> pointwise conv -> ReLU [Grad-CAM] -> global average pool -> Flatten -> Dense:
    /// the shape of the project's own light network.
    /// </summary>
    internal static SequentialNetwork DepthwiseNetwork(int seed = 3)
    {
        var random = new Random(seed);
        float[] Uniform(int count, double low, double high) =>
            Enumerable.Range(0, count).Select(_ => (float)(low + random.NextDouble() * (high - low))).ToArray();
        return new SequentialNetwork(2, 8, 8,
        [
            new Conv2dLayer("depthwise", 2, 2, 3, 2, 1, Uniform(2 * 9, 0.05, 0.3), Uniform(2, 0.01, 0.1), Groups: 2),
            new ReluLayer("relu1"),
            new Conv2dLayer("pointwise", 2, 4, 1, 1, 0, Uniform(4 * 2, 0.05, 0.5), Uniform(4, 0.01, 0.1)),
            new ReluLayer("relu2"),
            new GlobalAveragePoolLayer("gap"),
            new FlattenLayer("flatten"),
            new DenseLayer("logits", 4, Classes, Uniform(Classes * 4, -1, 1), Uniform(Classes, -0.1, 0.1)),
        ], GradCamLayerIndex: 3);
    }

    [Fact]
    public void DepthwiseConvolutionAndGlobalAveragePoolingExportCorrectly()
    {
        var network = DepthwiseNetwork();
        float[] inputs = Inputs(2, 8);
        var model = OnnxExporter.Export(network);
        int nonZeroMaps = 0;

        for (long target = 0; target < Classes; target++)
        {
            var outputs = Run(model, inputs, 2, 8, [target, target], ModelTensorNames.Logits, ModelTensorNames.Cam);
            Assert.Equal(2 * 4 * 4, outputs[ModelTensorNames.Cam].Length);
            for (int n = 0; n < 2; n++)
            {
                double[] logits = ReferenceNetwork.Logits(network, Sample(inputs, n, 8));
                for (int c = 0; c < Classes; c++)
                {
                    Assert.Equal(logits[c], outputs[ModelTensorNames.Logits][n * Classes + c], 1e-4);
                }
                double[] expected = ReferenceNetwork.GradCam(network, Sample(inputs, n, 8), (int)target);
                double scale = Math.Max(expected.Max(), 1e-6);
                nonZeroMaps += expected.Any(v => v > 0) ? 1 : 0;
                for (int p = 0; p < 16; p++)
                {
                    Assert.Equal(expected[p] / scale, outputs[ModelTensorNames.Cam][n * 16 + p] / scale, 1e-3);
                }
            }
        }
        Assert.InRange(nonZeroMaps, 1, 6);
    }

    /// <summary>Conv -> ReLU -> residual block (conv, ReLU, conv, plus identity) [Grad-CAM] -> ReLU -> padded max pool -> Dense.</summary>
    internal static SequentialNetwork ResidualNetwork()
    {
        var random = new Random(8);
        float[] Uniform(int count, double low, double high) =>
            Enumerable.Range(0, count).Select(_ => (float)(low + random.NextDouble() * (high - low))).ToArray();
        return new SequentialNetwork(2, 8, 8,
        [
            new Conv2dLayer("stem", 2, 3, 3, 1, 1, Uniform(3 * 2 * 9, 0.05, 0.3), Uniform(3, 0.01, 0.1)),
            new ReluLayer("stem_relu"),
            new ResidualBlockLayer("block",
                [new Conv2dLayer("block_a", 3, 3, 3, 1, 1, Uniform(81, 0.0, 0.2), Uniform(3, 0.0, 0.1)), new ReluLayer("block_a_relu"),
                 new Conv2dLayer("block_b", 3, 3, 1, 1, 0, Uniform(9, 0.0, 0.3), Uniform(3, 0.0, 0.1))],
                []),
            new ReluLayer("block_relu"),
            new MaxPoolLayer("pool", 3, 2, 1),
            new FlattenLayer("flatten"),
            new DenseLayer("fc", 48, Classes, Uniform(Classes * 48, -0.5, 0.5), Uniform(Classes, -0.1, 0.1)),
        ], GradCamLayerIndex: 3);
    }

    [Fact]
    public void ResidualBlocksAndPaddedPoolingExportCorrectly()
    {
        var network = ResidualNetwork();
        float[] inputs = Inputs(1, 8, seed: 2);
        var model = OnnxExporter.Export(network);

        for (long target = 0; target < Classes; target++)
        {
            var outputs = Run(model, inputs, 1, 8, [target], ModelTensorNames.Logits, ModelTensorNames.Cam);
            double[] logits = ReferenceNetwork.Logits(network, Sample(inputs, 0, 8));
            Assert.Equal(logits, outputs[ModelTensorNames.Logits].Select(v => (double)v), new DoubleTolerance(1e-4));
            double[] expected = ReferenceNetwork.GradCam(network, Sample(inputs, 0, 8), (int)target);
            double scale = Math.Max(expected.Max(), 1e-6);
            Assert.Equal(expected.Select(v => v / scale), outputs[ModelTensorNames.Cam].Select(v => v / scale), new DoubleTolerance(1e-3));
        }
    }

    private sealed class DoubleTolerance(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double value) => 0;
    }

    internal static float[] Inputs(int batch, int size, int seed = 11)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, batch * 2 * size * size).Select(_ => (float)(0.1 + 0.9 * random.NextDouble())).ToArray();
    }

    private static ReferenceNetwork.Activation Sample(float[] inputs, int index, int size)
    {
        int length = 2 * size * size;
        return new ReferenceNetwork.Activation(inputs.Skip(index * length).Take(length).Select(v => (double)v).ToArray(), 2, size, size);
    }

    internal static Dictionary<string, float[]> Run(ModelProto model, float[] inputs, int batch, int size, long[]? targets = null,
        params string[] outputs)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model.ToByteArray(), options);
        var feeds = new Dictionary<string, OrtValue>
        {
            [ModelTensorNames.Input] = OrtValue.CreateTensorValueFromMemory(inputs, [batch, 2, size, size]),
        };
        if (targets is not null)
        {
            feeds[ModelTensorNames.TargetClass] = OrtValue.CreateTensorValueFromMemory(targets, [targets.Length]);
        }
        try
        {
            using var results = session.Run(new RunOptions(), feeds, outputs);
            return outputs.Select((name, i) => (name, values: results[i].GetTensorTypeAndShape().ElementDataType == TensorElementType.Int64
                    ? results[i].GetTensorDataAsSpan<long>().ToArray().Select(v => (float)v).ToArray()
                    : results[i].GetTensorDataAsSpan<float>().ToArray()))
                .ToDictionary(p => p.name, p => p.values);
        }
        finally
        {
            foreach (var value in feeds.Values)
            {
                value.Dispose();
            }
        }
    }

    [Fact]
    public void ExportedModelUsesOpset17AndADynamicBatch()
    {
        var model = OnnxExporter.Export(Network(8, 1));

        Assert.Equal(17, model.OpsetImport.Single().Version);
        var input = model.Graph.Input.Single(i => i.Name == ModelTensorNames.Input);
        Assert.Equal(OnnxExporter.BatchDimension, input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(
            [ModelTensorNames.Logits, ModelTensorNames.Probabilities, ModelTensorNames.Cam, ModelTensorNames.CamClass,
             ModelTensorNames.Features,
             ModelTensorNames.CamGradient, ModelTensorNames.CamActivation],
            model.Graph.Output.Select(o => o.Name));
        var cam = model.Graph.Output.Single(o => o.Name == ModelTensorNames.Cam).Type.TensorType.Shape.Dim;
        Assert.Equal([8L, 8L], cam.Skip(1).Select(d => d.DimValue));
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(9, 0)]
    public void LogitsAndProbabilitiesMatchAnIndependentForwardPass(int size, int padding)
    {
        var network = Network(size, padding);
        float[] inputs = Inputs(3, size);

        var outputs = Run(OnnxExporter.Export(network), inputs, 3, size, null, ModelTensorNames.Logits, ModelTensorNames.Probabilities);

        for (int n = 0; n < 3; n++)
        {
            double[] expected = ReferenceNetwork.Logits(network, Sample(inputs, n, size));
            double[] softmax = expected.Select(v => Math.Exp(v - expected.Max())).ToArray();
            for (int c = 0; c < Classes; c++)
            {
                Assert.Equal(expected[c], outputs[ModelTensorNames.Logits][n * Classes + c], 1e-4);
                Assert.Equal(softmax[c] / softmax.Sum(), outputs[ModelTensorNames.Probabilities][n * Classes + c], 1e-5);
            }
        }
    }

    [Theory]
    [InlineData(8, 1, 7)]
    [InlineData(9, 0, 1)]
    [InlineData(9, 0, 2)]
    public void CamMatchesFiniteDifferenceGradCamForEveryRequestedClass(int size, int padding, int seed)
    {
        var network = Network(size, padding, seed);
        float[] inputs = Inputs(3, size);
        var model = OnnxExporter.Export(network);
        int nonZeroMaps = 0;

        for (int shift = 0; shift < Classes; shift++)
        {
            long[] targets = Enumerable.Range(0, 3).Select(n => (long)((n + shift) % Classes)).ToArray();
            var outputs = Run(model, inputs, 3, size, targets, ModelTensorNames.Cam, ModelTensorNames.CamClass);

            Assert.Equal(targets.Select(t => (float)t), outputs[ModelTensorNames.CamClass]);
            int plane = outputs[ModelTensorNames.Cam].Length / 3;
            for (int n = 0; n < 3; n++)
            {
                double[] expected = ReferenceNetwork.GradCam(network, Sample(inputs, n, size), (int)targets[n]);
                double scale = Math.Max(expected.Max(), 1e-6);
                nonZeroMaps += expected.Any(v => v > 0) ? 1 : 0;
                for (int p = 0; p < plane; p++)
                {
                    Assert.Equal(expected[p] / scale, outputs[ModelTensorNames.Cam][n * plane + p] / scale, 1e-3);
                }
            }
        }
        Assert.InRange(nonZeroMaps, 3, 9);
    }

    [Fact]
    public void FeaturesAreTheSpatialMeanOfTheGradCamLayerForEveryImageOfABatch()
    {
        var network = Network(9, 0);
        float[] inputs = Inputs(3, 9);

        var outputs = Run(OnnxExporter.Export(network), inputs, 3, 9, null, ModelTensorNames.Features);

        var layers = network.Layers.Take(network.GradCamLayerIndex + 1).ToList();
        for (int n = 0; n < 3; n++)
        {
            var activation = ReferenceNetwork.Run(network, layers, Sample(inputs, n, 9));
            int plane = activation.Height * activation.Width;
            for (int c = 0; c < activation.Channels; c++)
            {
                Assert.Equal(activation.Values.Skip(c * plane).Take(plane).Average(),
                    outputs[ModelTensorNames.Features][n * activation.Channels + c], 1e-5);
            }
        }
    }

    [Fact]
    public void AFeaturesOutputAddedToAnOlderPackageEqualsTheExportedOne()
    {
        var network = DepthwiseNetwork();
        float[] inputs = Inputs(2, 8, seed: 4);
        var exported = OnnxExporter.Export(network);
        var older = OnnxExporter.Export(network);
        older.Graph.Output.Remove(older.Graph.Output.Single(o => o.Name == ModelTensorNames.Features));
        older.Graph.Node.Remove(older.Graph.Node.Single(n => n.Output.Contains(ModelTensorNames.Features)));

        string added = OnnxExporter.AddFeaturesOutput(older, network.Layers[network.GradCamLayerIndex].Name, 4);

        Assert.Equal(Run(exported, inputs, 2, 8, null, ModelTensorNames.Features)[ModelTensorNames.Features],
            Run(older, inputs, 2, 8, null, added)[added]);
    }

    [Fact]
    public void GradientAndActivationOutputsAddedToAnOlderPackageEqualTheExportedOnesAndGiveItsCam()
    {
        var network = Network(8, 1);
        float[] inputs = Inputs(2, 8, seed: 6);
        var exported = OnnxExporter.Export(network);
        var older = OnnxExporter.Export(network);
        foreach (string name in new[] { ModelTensorNames.CamGradient, ModelTensorNames.CamActivation })
        {
            older.Graph.Output.Remove(older.Graph.Output.Single(o => o.Name == name));
            older.Graph.Node.Remove(older.Graph.Node.Single(n => n.Output.Contains(name)));
        }

        var (gradient, activation) = OnnxExporter.AddCamInputsOutputs(older, ModelTensorNames.Cam, 3, 8, 8);

        long[] targets = [2, 0];
        var ours = Run(exported, inputs, 2, 8, targets, ModelTensorNames.CamGradient, ModelTensorNames.CamActivation, ModelTensorNames.Cam);
        var theirs = Run(older, inputs, 2, 8, targets, gradient, activation);
        Assert.Equal(ours[ModelTensorNames.CamGradient], theirs[gradient]);
        Assert.Equal(ours[ModelTensorNames.CamActivation], theirs[activation]);
        // Grad-CAM from them, written out: ReLU(sum over channels of the gradient's spatial mean times the activation).
        int plane = 64;
        for (int n = 0; n < 2; n++)
        {
            for (int p = 0; p < plane; p++)
            {
                double sum = 0;
                for (int c = 0; c < 3; c++)
                {
                    double mean = Enumerable.Range(0, plane).Average(q => ours[ModelTensorNames.CamGradient][(n * 3 + c) * plane + q]);
                    sum += mean * ours[ModelTensorNames.CamActivation][(n * 3 + c) * plane + p];
                }
                Assert.Equal(Math.Max(sum, 0), ours[ModelTensorNames.Cam][n * plane + p], 1e-4);
            }
        }
    }

    [Fact]
    public void WithoutTargetClassTheCamExplainsThePredictedClass()
    {
        var network = Network(8, 1);
        float[] inputs = Inputs(4, 8, seed: 5);
        var model = OnnxExporter.Export(network);

        var implicitRun = Run(model, inputs, 4, 8, null, ModelTensorNames.Logits, ModelTensorNames.Cam, ModelTensorNames.CamClass);
        float[] logits = implicitRun[ModelTensorNames.Logits];
        long[] predicted = Enumerable.Range(0, 4)
            .Select(n => (long)Array.IndexOf(logits, logits.Skip(n * Classes).Take(Classes).Max(), n * Classes) - n * Classes)
            .ToArray();
        var explicitRun = Run(model, inputs, 4, 8, predicted, ModelTensorNames.Cam);

        Assert.Equal(predicted.Select(p => (float)p), implicitRun[ModelTensorNames.CamClass]);
        Assert.Equal(explicitRun[ModelTensorNames.Cam], implicitRun[ModelTensorNames.Cam]);
    }

    [Fact]
    public void MinusOneAsTargetClassMeansThePredictedClass()
    {
        var network = Network(8, 1);
        float[] inputs = Inputs(2, 8, seed: 3);
        var model = OnnxExporter.Export(network);

        var byDefault = Run(model, inputs, 2, 8, null, ModelTensorNames.CamClass);
        var withMinusOne = Run(model, inputs, 2, 8, [-1, -1], ModelTensorNames.CamClass);

        Assert.Equal(byDefault[ModelTensorNames.CamClass], withMinusOne[ModelTensorNames.CamClass]);
    }

    [Fact]
    public void PlainExportHasOnlyTheClassifierOutputs()
    {
        var model = OnnxExporter.Export(Network(8, 1), includeGradCam: false);

        Assert.Equal([ModelTensorNames.Input], model.Graph.Input.Select(i => i.Name));
        Assert.Equal([ModelTensorNames.Logits, ModelTensorNames.Probabilities], model.Graph.Output.Select(o => o.Name));
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType is "MaxUnpool" or "OneHot");
    }

    [Fact]
    public void CamOfALayerBeforeTheLastConvolutionMatchesFiniteDifferenceGradCam()
    {
        // A finer Grad-CAM layer: the head differentiated holds a pointwise convolution and a ReLU6.
        var network = DepthwiseNetwork();
        var layers = network.Layers.ToList();
        layers[3] = new Relu6Layer("relu2");
        network = network with { Layers = layers, GradCamLayerIndex = 1 };
        float[] inputs = Inputs(2, 8, seed: 8);
        var model = OnnxExporter.Export(network);

        for (long target = 0; target < Classes; target++)
        {
            var cam = Run(model, inputs, 2, 8, [target, target], ModelTensorNames.Cam)[ModelTensorNames.Cam];
            for (int n = 0; n < 2; n++)
            {
                double[] expected = ReferenceNetwork.GradCam(network, Sample(inputs, n, 8), (int)target);
                double scale = Math.Max(expected.Max(), 1e-6);
                Assert.Equal(expected.Select(v => v / scale), cam.Skip(n * 16).Take(16).Select(v => v / scale), new DoubleTolerance(1e-3));
            }
        }
    }

    [Fact]
    public void AnOperatorWithoutAGradientRuleInTheHeadIsRefusedByName()
    {
        var network = Network(8, 1);
        var layers = network.Layers.ToList();
        layers.Insert(2, new SigmoidLayer("late_sigmoid"));

        var error = Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(network with { Layers = layers }));
        Assert.Contains("late_sigmoid", error.Message);
    }

    [Fact]
    public void ADenseLayerOfTheWrongWidthIsRefused()
    {
        var network = Network(8, 1);
        var layers = network.Layers.ToList();
        layers[4] = new DenseLayer("dense1", 10, 6, new float[60], new float[6]);

        var error = Assert.Throws<InvalidOperationException>(() => OnnxExporter.Export(network with { Layers = layers }));
        Assert.Contains("dense1", error.Message);
    }
}
