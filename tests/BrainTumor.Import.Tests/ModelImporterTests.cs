using System.Text.Json;
using BrainTumor.Models;
using BrainTumor.Onnx;
using BrainTumor.Onnx.Proto;
using Google.Protobuf;
using static BrainTumor.Onnx.OnnxGraphBuilder;
using static BrainTumor.Import.Tests.TestGraphs;

namespace BrainTumor.Import.Tests;

public sealed class ModelImporterTests : IDisposable
{
    private static readonly string[] Labels = ["a", "b", "c"];
    private readonly string root = Directory.CreateTempSubdirectory("braintumor-import-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private (ModelManifest Manifest, ModelProto Model) Import(ModelProto source, InputLayout layout = InputLayout.Auto,
        string? target = null, int side = Side, IReadOnlyList<string>? labels = null)
    {
        string path = Path.Combine(root, $"source-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, source.ToByteArray());
        string output = Path.Combine(root, $"package-{Guid.NewGuid():N}");
        var normalization = ImportOptions.ParseNormalization("rescale");
        var manifest = ModelImporter.Import(new ImportOptions(path, labels ?? Labels, side, side, normalization, layout, target, output));
        return (manifest, ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(output, ModelManifest.OnnxFileName))));
    }

    public static TheoryData<string> Heads => new()
    {
        "maxpool-gemm", "overlapping-maxpool", "gap-matmul", "batchnorm-avgpool-reducemean", "transpose-nhwc", "conv-relu6-gap",
        "strided-conv-gap",
    };

    private static Head HeadNamed(string name) => name switch
    {
        // MaxPool, Flatten, Gemm (transB 1), Relu, Gemm (transB 0, alpha 0.5)
        "maxpool-gemm" => (b, f, r) =>
        {
            var (pooled, _) = (b.Single("MaxPool", [f], Attribute("kernel_shape", 2L, 2L), Attribute("strides", 2L, 2L)), 0);
            string flat = b.Single("Flatten", [pooled], Attribute("axis", 1L));
            string w1 = b.Initializer("w1", Uniform(r, 6 * 64, -0.3, 0.3), 6, 64), b1 = b.Initializer("b1", Uniform(r, 6, 0.1, 0.3), 6);
            string hidden = b.Single("Relu", b.Single("Gemm", [flat, w1, b1], Attribute("transB", 1L)));
            return b.Single("Gemm", [hidden, b.Initializer("w2", Uniform(r, 6 * Classes, -1, 1), 6, Classes)], Attribute("alpha", 0.5f));
        },
        // MaxPool with overlapping, padded windows (a maximum can serve two windows), Flatten, Gemm
        "overlapping-maxpool" => (b, f, r) =>
        {
            string pooled = b.Single("MaxPool", [f], Attribute("kernel_shape", 3L, 3L), Attribute("strides", 2L, 2L),
                Attribute("pads", 1L, 1L, 1L, 1L));
            string flat = b.Single("Flatten", [pooled], Attribute("axis", 1L));
            return b.Single("Gemm", [flat, b.Initializer("w", Uniform(r, Classes * 64, -1, 1), Classes, 64)], Attribute("transB", 1L));
        },
        // GlobalAveragePool, Reshape, MatMul, Add, Dropout, Identity
        "gap-matmul" => (b, f, r) =>
        {
            string pooled = b.Single("GlobalAveragePool", f);
            string flat = b.Single("Reshape", pooled, b.Initializer("flat_shape", [0L, -1L], 2));
            string product = b.Single("MatMul", flat, b.Initializer("w", Uniform(r, Channels * Classes, -1, 1), Channels, Classes));
            string biased = b.Single("Add", product, b.Initializer("bias", Uniform(r, Classes, -0.1, 0.1), Classes));
            return b.Single("Identity", b.Single("Dropout", biased));
        },
        // BatchNormalization, Relu, AveragePool, ReduceMean (keepdims 0), Mul (broadcast), Gemm
        "batchnorm-avgpool-reducemean" => (b, f, r) =>
        {
            string normed = b.Single("BatchNormalization", [f,
                b.Initializer("bn_scale", Uniform(r, Channels, 0.5, 1.5), Channels),
                b.Initializer("bn_bias", Uniform(r, Channels, 0.1, 0.3), Channels),
                b.Initializer("bn_mean", Uniform(r, Channels, 0, 0.1), Channels),
                b.Initializer("bn_var", Uniform(r, Channels, 0.5, 2), Channels)]);
            string pooled = b.Single("AveragePool", [b.Single("Relu", normed)], Attribute("kernel_shape", 2L, 2L),
                Attribute("strides", 2L, 2L));
            string mean = b.Single("ReduceMean", [pooled], Attribute("axes", 2L, 3L), Attribute("keepdims", 0L));
            string scaled = b.Single("Mul", mean, b.Initializer("scale", Uniform(r, Channels, 0.5, 2), Channels));
            string w = b.Initializer("w", Uniform(r, Classes * Channels, -1, 1), Classes, Channels);
            return b.Single("Gemm", [scaled, w], Attribute("transB", 1L));
        },
        // Transpose to channels-last, ReduceMean over H and W, MatMul
        "transpose-nhwc" => (b, f, r) =>
        {
            string nhwc = b.Single("Transpose", [f], Attribute("perm", 0L, 2L, 3L, 1L));
            string mean = b.Single("ReduceMean", [nhwc], Attribute("axes", 1L, 2L), Attribute("keepdims", 0L));
            return b.Single("MatMul", mean, b.Initializer("w", Uniform(r, Channels * Classes, -1, 1), Channels, Classes));
        },
        // A finer layer's head: Conv (pads 1), Clip as ReLU6, GlobalAveragePool, Flatten, Gemm
        "conv-relu6-gap" => (b, f, r) =>
        {
            string conv = b.Single("Conv", [f, b.Initializer("w", Uniform(r, 6 * Channels * 9, -0.5, 0.5), 6, Channels, 3, 3)],
                Attribute("kernel_shape", 3L, 3L), Attribute("pads", 1L, 1L, 1L, 1L));
            string clipped = b.Single("Clip", conv, b.Initializer("min", [0f]), b.Initializer("max", [6f]));
            string flat = b.Single("Flatten", [b.Single("GlobalAveragePool", clipped)], Attribute("axis", 1L));
            return b.Single("Gemm", [flat, b.Initializer("dense", Uniform(r, Classes * 6, -1, 1), Classes, 6)], Attribute("transB", 1L));
        },
        // Conv with stride 2 and no padding (the last row and column fall out of every window), GlobalAveragePool, Flatten, Gemm
        "strided-conv-gap" => (b, f, r) =>
        {
            string conv = b.Single("Conv", [f, b.Initializer("w", Uniform(r, 5 * Channels * 9, -0.5, 0.5), 5, Channels, 3, 3)],
                Attribute("kernel_shape", 3L, 3L), Attribute("strides", 2L, 2L));
            string flat = b.Single("Flatten", [b.Single("GlobalAveragePool", conv)], Attribute("axis", 1L));
            return b.Single("Gemm", [flat, b.Initializer("dense", Uniform(r, Classes * 5, -1, 1), Classes, 5)], Attribute("transB", 1L));
        },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Heads))]
    public void CamOfEveryHeadMatchesFiniteDifferences(string headName)
    {
        var head = HeadNamed(headName);
        var (manifest, imported) = Import(Classifier(head), target: "features");
        var random = new Random(5);
        float[] image = Uniform(random, 3 * Side * Side, 0, 1);

        var withFeatures = Classifier(head);
        withFeatures.Graph.Output.Add(new ValueInfoProto { Name = "features" });
        float[] features = Run(withFeatures, "image", image, [1, 3, Side, Side], ["features"])[0];
        Assert.Equal(new GradCamInfo("features", Channels, Side, Side), manifest.GradCam);
        int informative = 0;
        for (int c = 0; c < Classes; c++)
        {
            float[] cam = Run(imported, manifest.Input.Name, image, [1, 3, Side, Side], [manifest.Outputs.Cam!], [c])[0];
            double[] expected = FiniteDifferenceCam(HeadOnly(head), features, c);
            double scale = Math.Max(expected.Max(), 1e-6);
            informative += expected.Max() > 1e-6 ? 1 : 0;
            for (int p = 0; p < cam.Length; p++)
            {
                // Float32 central differences; a wrong rule is off by far more than this.
                Assert.True(Math.Abs(expected[p] / scale - cam[p] / scale) < 2e-2,
                    $"{headName}, class {c}, pixel {p}: {cam[p]} vs {expected[p]}");
            }
        }
        Assert.InRange(informative, 1, Classes);
    }

    [Theory]
    [InlineData("maxpool-gemm", "features")]
    [InlineData("gap-matmul", "features")]
    [InlineData("transpose-nhwc", "features")]
    [InlineData("batchnorm-avgpool-reducemean", "Relu_3_4")]
    [InlineData("conv-relu6-gap", "Clip_4")]
    [InlineData("strided-conv-gap", "Conv_2_3")]
    public void TheFeatureMapIsTheLastActivationBeforeTheSpatialCollapse(string headName, string expected)
    {
        var (manifest, _) = Import(Classifier(HeadNamed(headName)));

        Assert.Equal(expected, manifest.GradCam.Layer);
    }

    [Fact]
    public void ImportedProbabilitiesAreTheOriginalModelsAndGradCamIsReady()
    {
        var source = Classifier(HeadNamed("gap-matmul"));
        var (manifest, imported) = Import(source);
        float[] image = Uniform(new Random(9), 2 * 3 * Side * Side, 0, 1);

        float[] original = Run(source, "image", image, [2, 3, Side, Side], ["prob"])[0];
        float[] served = Run(imported, manifest.Input.Name, image, [2, 3, Side, Side], [manifest.Outputs.Probabilities])[0];

        Assert.Equal(original, served, new Tolerance(1e-6f));
        Assert.Equal("imported (hand-built)", manifest.Architecture);
        Assert.Equal(Labels, manifest.Labels);
    }

    [Fact]
    public void ChannelsLastModelsGetAChannelsFirstInput()
    {
        var head = HeadNamed("gap-matmul");
        var source = Classifier(head, channelsLastInput: true);
        var (manifest, imported) = Import(source);
        float[] nchw = Uniform(new Random(4), 3 * Side * Side, 0, 1);
        float[] nhwc = new float[nchw.Length];
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < Side * Side; p++)
                nhwc[p * 3 + c] = nchw[c * Side * Side + p];

        float[] original = Run(source, "image", nhwc, [1, Side, Side, 3], ["prob"])[0];
        float[] served = Run(imported, manifest.Input.Name, nchw, [1, 3, Side, Side], [manifest.Outputs.Probabilities])[0];

        Assert.Equal(original, served, new Tolerance(1e-6f));
        Assert.Equal("NCHW", manifest.Input.Layout);
        // Its feature map is channels-last too: the features are still one value per channel.
        float[] features = Run(imported, manifest.Input.Name, nchw, [1, 3, Side, Side], [manifest.Outputs.Features!])[0];
        Assert.Equal(manifest.GradCam.Channels, features.Length);
    }

    [Fact]
    public void OurOwnPlainExportImportsToTheSameGradCamAsOurExporter()
    {
        var random = new Random(2);
        var network = new SequentialNetwork(3, 12, 12,
        [
            new Conv2dLayer("conv1", 3, 4, 3, 1, 0, Uniform(random, 4 * 27, 0.05, 0.3), Uniform(random, 4, 0.01, 0.1)),
            new ReluLayer("relu1"),
            new MaxPoolLayer("pool1", 2, 2),
            new FlattenLayer("flatten"),
            new DenseLayer("dense1", 100, 5, Uniform(random, 500, -0.5, 0.5), Uniform(random, 5, 0.2, 0.6)),
            new ReluLayer("dense1_relu"),
            new DenseLayer("dense2", 5, Classes, Uniform(random, 15, -1, 1), Uniform(random, Classes, -0.1, 0.1)),
        ], GradCamLayerIndex: 1);
        var (manifest, imported) = Import(OnnxExporter.Export(network, includeGradCam: false), side: 12);
        var exported = OnnxExporter.Export(network);
        float[] image = Uniform(new Random(3), 2 * 3 * 12 * 12, 0, 1);

        for (long c = 0; c < Classes; c++)
        {
            float[] ours = Run(exported, ModelTensorNames.Input, image, [2, 3, 12, 12], [ModelTensorNames.Cam], [c, c])[0];
            float[] theirs = Run(imported, manifest.Input.Name, image, [2, 3, 12, 12], [manifest.Outputs.Cam!], [c, c])[0];
            Assert.Equal(ours, theirs, new Tolerance(1e-5f));
        }
        // The out-of-distribution guard's features too, for both images of the batch.
        Assert.Equal(Run(exported, ModelTensorNames.Input, image, [2, 3, 12, 12], [ModelTensorNames.Features])[0],
            Run(imported, manifest.Input.Name, image, [2, 3, 12, 12], [manifest.Outputs.Features!])[0], new Tolerance(1e-5f));
        Assert.Equal("relu1", manifest.GradCam.Layer);
    }

    public static TheoryData<string> PyTorchExports => new() { "gap-classifier", "flatten-classifier", "channels-last-classifier" };

    /// <summary>
    /// Files written by <c>torch.onnx.export</c> itself (PyTorch 1.13.1, see PyTorch/make_fixtures.py), with
    /// logits and every class's Grad-CAM computed by PyTorch autograd on the same image. The channels-last one
    /// is laid out as tf2onnx writes Keras models: NHWC input, transposes around the convolutions.
    /// </summary>
    [Theory]
    [MemberData(nameof(PyTorchExports))]
    public void AModelExportedByPyTorchImportsWithPyTorchsAutogradGradCam(string name)
    {
        string fixture = Path.Combine(AppContext.BaseDirectory, "PyTorch", name);
        var reference = JsonDocument.Parse(File.ReadAllText(fixture + ".json")).RootElement;
        int side = reference.GetProperty("side").GetInt32();
        float[] image = reference.GetProperty("image").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        if (reference.GetProperty("channelsLast").GetBoolean())
        {
            // Imported packages always take NCHW.
            image = Enumerable.Range(0, image.Length).Select(i => image[i % (side * side) * 3 + i / (side * side)]).ToArray();
        }
        float[] expectedLogits = reference.GetProperty("logits").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        int[] camShape = reference.GetProperty("camShape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        string[] labels = ["glioma", "meningioma", "none", "pituitary"];

        var (manifest, imported) = Import(ModelProto.Parser.ParseFrom(File.ReadAllBytes(fixture + ".onnx")), side: side, labels: labels);

        Assert.StartsWith("imported (pytorch", manifest.Architecture);
        Assert.Equal(camShape, new[] { manifest.GradCam!.Height, manifest.GradCam.Width });
        var cams = reference.GetProperty("cams").EnumerateArray()
            .Select(c => c.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        Assert.True(cams.Count(c => c.Any(v => v > 0)) >= 2, "the reference should explain at least two classes with a non-zero map");
        float scale = cams.Max(c => c.Max());
        for (int target = 0; target < labels.Length; target++)
        {
            var outputs = Run(imported, manifest.Input.Name, image, [1, 3, side, side], [manifest.Outputs.Logits, manifest.Outputs.Cam!],
                [target]);
            Assert.Equal(expectedLogits, outputs[0], new Tolerance(1e-4f));
            Assert.Equal(cams[target], outputs[1], new Tolerance(1e-4f * scale));
        }
    }

    [Fact]
    public void MovingTheGradCamToAnEarlierLayerKeepsTheClassificationBitForBitAndExplainsThatLayer()
    {
        var head = HeadNamed("conv-relu6-gap");
        var (manifest, imported) = Import(Classifier(head));
        string packaged = Path.Combine(root, "packaged.onnx"), moved = Path.Combine(root, "moved.onnx");
        File.WriteAllBytes(packaged, imported.ToByteArray());

        var (outputs, gradCam) = ModelImporter.Retarget(packaged, manifest, "features", moved);

        var retargeted = ModelProto.Parser.ParseFrom(File.ReadAllBytes(moved));
        Assert.Equal(new GradCamInfo("features", Channels, Side, Side), gradCam);
        Assert.NotEqual(manifest.GradCam.Layer, gradCam.Layer);
        // The old Grad-CAM graph is gone: one target_class input, one set of outputs.
        Assert.Equal([manifest.Input.Name, outputs.TargetClass], retargeted.Graph.Input.Select(i => i.Name));
        string?[] expectedOutputs =
        [
            outputs.Logits, outputs.Probabilities, outputs.Cam, outputs.CamClass, outputs.Features, outputs.CamGradient,
            outputs.CamActivation,
        ];
        Assert.Equal(expectedOutputs, retargeted.Graph.Output.Select(o => o.Name));
        float[] images = Uniform(new Random(8), 2 * 3 * Side * Side, 0, 1);
        string[] classifier = [manifest.Outputs.Logits, manifest.Outputs.Probabilities];
        var before = Run(imported, manifest.Input.Name, images, [2, 3, Side, Side], classifier);
        var after = Run(retargeted, manifest.Input.Name, images, [2, 3, Side, Side], [outputs.Logits, outputs.Probabilities]);
        Assert.Equal(before[0], after[0]);
        Assert.Equal(before[1], after[1]);

        var withFeatures = Classifier(head);
        withFeatures.Graph.Output.Add(new ValueInfoProto { Name = "features" });
        float[] image = images[..(3 * Side * Side)];
        float[] features = Run(withFeatures, "image", image, [1, 3, Side, Side], ["features"])[0];
        for (int c = 0; c < Classes; c++)
        {
            float[] cam = Run(retargeted, manifest.Input.Name, image, [1, 3, Side, Side], [outputs.Cam!], [c])[0];
            double[] expected = FiniteDifferenceCam(HeadOnly(head), features, c);
            double scale = Math.Max(expected.Max(), 1e-6);
            Assert.Equal(expected.Select(v => v / scale), cam.Select(v => v / scale), new DoubleTolerance(2e-2));
        }
    }

    [Fact]
    public void AChannelsLastFeatureMapMatchesFiniteDifferences()
    {
        Head meanThenProject = (b, f, r) =>
        {
            string mean = b.Single("ReduceMean", [f], Attribute("axes", 1L, 2L), Attribute("keepdims", 0L));
            return b.Single("MatMul", mean, b.Initializer("w", Uniform(r, Channels * Classes, -1, 1), Channels, Classes));
        };
        Head transposeFirst = (b, f, r) =>
            meanThenProject(b, b.Node("Transpose", [f], attributes: [Attribute("perm", 0L, 2L, 3L, 1L)], outputs: ["nhwc"])[0], r);
        var source = Classifier(transposeFirst);
        var (manifest, imported) = Import(source, target: "nhwc");
        float[] image = Uniform(new Random(6), 3 * Side * Side, 0, 1);
        var withFeatures = Classifier(transposeFirst);
        withFeatures.Graph.Output.Add(new ValueInfoProto { Name = "nhwc" });
        float[] features = Run(withFeatures, "image", image, [1, 3, Side, Side], ["nhwc"])[0];

        int informative = 0;
        for (int c = 0; c < Classes; c++)
        {
            float[] cam = Run(imported, manifest.Input.Name, image, [1, 3, Side, Side], [manifest.Outputs.Cam!], [c])[0];
            double[] expected = FiniteDifferenceCam(HeadOnly(meanThenProject, channelsLast: true), features, c, channelsLast: true);
            double scale = Math.Max(expected.Max(), 1e-6);
            informative += expected.Max() > 1e-6 ? 1 : 0;
            Assert.Equal(expected.Select(v => v / scale), cam.Select(v => v / scale), new DoubleTolerance(2e-2));
        }
        Assert.InRange(informative, 1, Classes);
        Assert.Equal(new GradCamInfo("nhwc", Channels, Side, Side), manifest.GradCam);
    }

    [Fact]
    public void ANamedTargetLayerIsUsed()
    {
        var source = Classifier(HeadNamed("transpose-nhwc"));

        var (manifest, _) = Import(source, target: "Transpose");

        // The map is the node's output, channels-last here: [N, 8, 8, 4].
        string tensor = source.Graph.Node.Single(n => n.Name == "Transpose").Output[0];
        Assert.Equal(new GradCamInfo(tensor, Channels, Side, Side), manifest.GradCam);
    }

    [Fact]
    public void AnUnsupportedOperatorInTheHeadIsNamed()
    {
        Head sigmoidHead = (b, f, r) =>
        {
            string pooled = b.Single("GlobalAveragePool", f);
            string flat = b.Single("Flatten", [b.Single("Sigmoid", pooled)], Attribute("axis", 1L));
            return b.Single("MatMul", flat, b.Initializer("w", Uniform(r, Channels * Classes, -1, 1), Channels, Classes));
        };

        var error = Assert.Throws<ImportException>(() => Import(Classifier(sigmoidHead), target: "features"));

        Assert.Contains("Sigmoid", error.Message);
        Assert.Contains("node 'Sigmoid'", error.Message);
    }

    [Fact]
    public void TheWrongNumberOfLabelsIsRefused()
    {
        string path = Path.Combine(root, "m.onnx");
        File.WriteAllBytes(path, Classifier(HeadNamed("gap-matmul")).ToByteArray());

        var error = Assert.Throws<ImportException>(() => ModelImporter.Import(
            new ImportOptions(path, ["x", "y"], Side, Side, ImportOptions.ParseNormalization("imagenet"), InputLayout.Auto, null,
                Path.Combine(root, "out"))));

        Assert.Contains("2 labels", error.Message);
    }

    [Fact]
    public void AnOldOpsetIsRefused()
    {
        var error = Assert.Throws<ImportException>(() => Import(Classifier(HeadNamed("gap-matmul"), opset: 11)));

        Assert.Contains("opset 11", error.Message);
    }

    [Fact]
    public void NormalisationTextIsParsed()
    {
        var custom = ImportOptions.ParseNormalization("scale=1/255; mean=0.5,0.5,0.5; std=0.25,0.25,0.25");

        Assert.Equal(1f / 255f, custom.Scale, 6);
        Assert.Equal([0.5f, 0.5f, 0.5f], custom.Mean);
        Assert.Throws<ImportException>(() => ImportOptions.ParseNormalization("mean=1,2"));
    }

    private sealed class DoubleTolerance(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double value) => 0;
    }

    private sealed class Tolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float value) => 0;
    }
}
