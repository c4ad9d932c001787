using BrainTumor.Onnx.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using DataType = BrainTumor.Onnx.Proto.TensorProto.Types.DataType;

namespace BrainTumor.Onnx.Tests;

public class QdqQuantizerTests
{
    private const int Batch = 4;
    private const int Size = 8;

    private static (ModelProto Float, ModelProto Quantized, string Layer) Quantized(SequentialNetwork network, float[] inputs)
    {
        var model = OnnxExporter.Export(network);
        string layer = model.Graph.Node.Single(n => n.Name == network.GradCamLayerName).Output[0];
        var tensors = QdqQuantizer.ActivationTensors(model.Graph, layer, ModelTensorNames.Logits);
        var values = OnnxExporterTests.Run(QdqQuantizer.WithOutputs(model, tensors), inputs, Batch, Size, null, [.. tensors]);
        var ranges = tensors.ToDictionary(t => t, t => new ActivationRange(values[t].Min(), values[t].Max()));
        return (model, QdqQuantizer.Quantize(model, layer, ModelTensorNames.Logits, ranges), layer);
    }

    [Fact]
    public void TheQuantisedResidualNetworkGivesNearlyTheFloatLogitsAndMaps()
    {
        float[] inputs = OnnxExporterTests.Inputs(Batch, Size, seed: 5);
        var (floatModel, quantized, _) = Quantized(OnnxExporterTests.ResidualNetwork(), inputs);

        var before = OnnxExporterTests.Run(floatModel, inputs, Batch, Size, null, ModelTensorNames.Logits, ModelTensorNames.Cam);
        var after = OnnxExporterTests.Run(quantized, inputs, Batch, Size, null, ModelTensorNames.Logits, ModelTensorNames.Cam);

        double spread = before[ModelTensorNames.Logits].Max() - before[ModelTensorNames.Logits].Min();
        Assert.All(before[ModelTensorNames.Logits].Zip(after[ModelTensorNames.Logits]),
            p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 0.03 * spread));
        Assert.InRange(Correlation(before[ModelTensorNames.Cam], after[ModelTensorNames.Cam]), 0.98, 1.0);
    }

    [Fact]
    public void ConvolutionWeightsAreStoredAsInt8AndTheFloatOnesAreDropped()
    {
        float[] inputs = OnnxExporterTests.Inputs(Batch, Size, seed: 5);
        var (floatModel, quantized, _) = Quantized(OnnxExporterTests.ResidualNetwork(), inputs);

        var convWeights = floatModel.Graph.Node.Where(n => n.OpType == "Conv").Select(n => n.Input[1]).ToList();
        Assert.Equal(3, convWeights.Count);
        Assert.DoesNotContain(quantized.Graph.Initializer, i => convWeights.Contains(i.Name));
        Assert.Equal(3, quantized.Graph.Initializer.Count(i => i.DataType == (int)DataType.Int8 && i.Dims.Count == 4));
        Assert.Equal(3, quantized.Graph.Initializer.Count(
            i => i.DataType == (int)DataType.Int32 && i.Name.EndsWith("_int32", StringComparison.Ordinal)));
        // Its one dense layer computes the logits, and keeps its float weights.
        Assert.Contains(quantized.Graph.Initializer, i => i.Name == "fc.weight" && i.DataType == (int)DataType.Float);
    }

    [Fact]
    public void TheDenseHeadIsIntegerInTheQdqGraphUpToTheLayerThatComputesTheLogits()
    {
        float[] inputs = OnnxExporterTests.Inputs(Batch, Size, seed: 5);
        var (floatModel, quantized, _) = Quantized(OnnxExporterTests.Network(Size, padding: 1), inputs);

        var optimized = Optimized(quantized);

        Assert.Equal("dense1", Assert.Single(optimized.Node, n => n.OpType == "QGemm").Name);
        Assert.Equal("dense2", Assert.Single(optimized.Node, n => n.OpType is "Gemm" or "FusedGemm").Name);
        Assert.Contains(quantized.Graph.Initializer, i => i.Name == "dense1.weight_int8" && i.DataType == (int)DataType.Int8);
        Assert.DoesNotContain(quantized.Graph.Initializer, i => i.Name == "dense1.weight");
        var before = OnnxExporterTests.Run(floatModel, inputs, Batch, Size, null, ModelTensorNames.Logits);
        var after = OnnxExporterTests.Run(quantized, inputs, Batch, Size, null, ModelTensorNames.Logits);
        double spread = before[ModelTensorNames.Logits].Max() - before[ModelTensorNames.Logits].Min();
        Assert.All(before[ModelTensorNames.Logits].Zip(after[ModelTensorNames.Logits]),
            p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 0.03 * spread));
    }

    [Fact]
    public void TheGradientThroughTheDenseHeadReadsItsDequantisedWeightsFoldedAtLoad()
    {
        float[] inputs = OnnxExporterTests.Inputs(Batch, Size, seed: 5);
        var (floatModel, quantized, _) = Quantized(OnnxExporterTests.Network(Size, padding: 1), inputs);

        var optimized = Optimized(quantized);

        // The gradient's MatMuls read constant float weights, not a DequantizeLinear run on every Run.
        var constants = optimized.Initializer.Select(i => i.Name).ToHashSet();
        var gradient = optimized.Node.Where(n => n.OpType == "MatMul").ToList();
        Assert.Equal(2, gradient.Count);
        Assert.All(gradient, n => Assert.Contains(n.Input[1], constants));
        Assert.DoesNotContain(optimized.Node,
            n => n.OpType == "DequantizeLinear" && n.Input[0].EndsWith(".weight_int8", StringComparison.Ordinal));
        var before = OnnxExporterTests.Run(floatModel, inputs, Batch, Size, [0, 1, 2, 0], ModelTensorNames.Cam);
        var after = OnnxExporterTests.Run(quantized, inputs, Batch, Size, [0, 1, 2, 0], ModelTensorNames.Cam);
        Assert.InRange(Correlation(before[ModelTensorNames.Cam], after[ModelTensorNames.Cam]), 0.98, 1.0);
    }

    /// <summary>The graph as ONNX Runtime runs it, after its QDQ fusions and constant folding.</summary>
    private static GraphProto Optimized(ModelProto model)
    {
        string path = Path.Combine(Path.GetTempPath(), $"braintumor-qdq-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions
                   {
                       OptimizedModelFilePath = path, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
                   })
            using (new InferenceSession(model.ToByteArray(), options))
            {
            }
            return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph;
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ActivationsAreQuantisedUpToTheGradCamLayerOnlyAndAfterTheirReLU()
    {
        var model = OnnxExporter.Export(OnnxExporterTests.DepthwiseNetwork());
        string layer = model.Graph.Node.Single(n => n.Name == "relu2").Output[0];

        var tensors = QdqQuantizer.ActivationTensors(model.Graph, layer, ModelTensorNames.Logits);

        string Output(string node) => model.Graph.Node.Single(n => n.Name == node).Output[0];
        Assert.Equal([ModelTensorNames.Input, Output("relu1"), Output("relu2")], tensors);
    }

    [Fact]
    public void TheInputOfADenseLayerBeforeTheLastIsQuantisedToo()
    {
        var model = OnnxExporter.Export(OnnxExporterTests.Network(Size, padding: 1));
        string layer = model.Graph.Node.Single(n => n.Name == "relu1").Output[0];

        var tensors = QdqQuantizer.ActivationTensors(model.Graph, layer, ModelTensorNames.Logits);

        string Output(string node) => model.Graph.Node.Single(n => n.Name == node).Output[0];
        Assert.Equal([ModelTensorNames.Input, Output("relu1"), Output("flatten")], tensors);
    }

    [Fact]
    public void ADenseLayerWhoseBiasIsBroadcastOverItsColumnsStaysFloat()
    {
        var model = OnnxExporter.Export(OnnxExporterTests.Network(Size, padding: 1));
        string layer = model.Graph.Node.Single(n => n.Name == "relu1").Output[0];
        string bias = model.Graph.Node.Single(n => n.Name == "dense1").Input[2];
        model.Graph.Initializer.Remove(model.Graph.Initializer.Single(i => i.Name == bias));
        model.Graph.Initializer.Add(new TensorProto { Name = bias, DataType = (int)DataType.Float, Dims = { 1 }, FloatData = { 0.1f } });

        var tensors = QdqQuantizer.ActivationTensors(model.Graph, layer, ModelTensorNames.Logits);

        string Output(string node) => model.Graph.Node.Single(n => n.Name == node).Output[0];
        Assert.Equal([ModelTensorNames.Input, Output("relu1")], tensors);
    }

    [Fact]
    public void AMissingRangeIsNamed()
    {
        var model = OnnxExporter.Export(OnnxExporterTests.DepthwiseNetwork());
        string layer = model.Graph.Node.Single(n => n.Name == "relu2").Output[0];

        var error = Assert.Throws<ArgumentException>(
            () => QdqQuantizer.Quantize(model, layer, ModelTensorNames.Logits, new Dictionary<string, ActivationRange>()));

        Assert.Contains($"'{ModelTensorNames.Input}'", error.Message);
    }

    [Theory]
    [InlineData(0f, 2.55f, 0.01f, 0)]
    [InlineData(-1f, 3f, 4f / 255, 64)]
    [InlineData(0.5f, 1f, 1f / 255, 0)]
    public void Uint8ParametersCoverTheRangeAndZero(float min, float max, float scale, int zeroPoint)
    {
        var (actualScale, actualZero) = QdqQuantizer.Uint8Parameters(new ActivationRange(min, max));

        Assert.Equal(scale, actualScale, 1e-6f);
        Assert.Equal(zeroPoint, actualZero);
    }

    private static double Correlation(float[] first, float[] second)
    {
        double meanA = first.Average(), meanB = second.Average();
        double covariance = first.Zip(second, (a, b) => (a - meanA) * (b - meanB)).Sum();
        double varianceA = first.Sum(a => (a - meanA) * (a - meanA)), varianceB = second.Sum(b => (b - meanB) * (b - meanB));
        return covariance / Math.Sqrt(varianceA * varianceB);
    }
}
