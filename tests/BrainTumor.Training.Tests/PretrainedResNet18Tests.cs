using BrainTumor.Data;
using BrainTumor.Imaging;
using BrainTumor.Tests;
using BrainTumor.Training.Architectures;
using BrainTumor.Training.Pretrained;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace BrainTumor.Training.Tests;

[Trait("Category", "Slow")]
public sealed class PretrainedResNet18Tests(ITestOutputHelper log)
{
    private const int Size = 224;

    [Fact]
    public void TheBuildRestoresTheImageNetResNet18WithTheExpectedContent()
    {
        var imageNet = ImageNetResNet18.Load();

        Assert.Equal("e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f", imageNet.Sha256);
        // The mean image's channel averages, in BGR order, on 0-255 pixels (ImageNet's are about 104, 117, 124).
        Assert.InRange(imageNet.MeanBgr[0], 100, 106);
        Assert.InRange(imageNet.MeanBgr[2], 120, 126);
    }

    [Fact]
    public void ResNet18HasTheStandardParameterCountWithAFourClassHead()
    {
        using var network = ArchitectureRegistry.Get("resnet18").Create(Size, 4);

        // torchvision's resnet18: 11,689,512 with 1000 classes, of which the head is 512 * 1000 + 1000; the ImageNet file's
        // third block in the last stage adds two 3x3 convolutions of 512 channels and their norms.
        Assert.Equal(11_689_512 - 513_000 + 512 * 4 + 4 + 2 * (512 * 512 * 9 + 2 * 512), network.ParameterCount());
        var description = network.Describe();
        var camShape = description.Shapes()[description.GradCamLayerIndex];
        Assert.Equal((512, 7, 7), (camShape.Channels, camShape.Height, camShape.Width));
        Assert.Contains(ImageNetResNet18.PackageVersion, network.InitialWeights);
    }

    /// <summary>
    /// The TorchSharp network, loaded from the package's initialisers, computes the same pooled features as ONNX Runtime
    /// running the package's own file, on real slices: the mapping of every weight, the padding and the channel order.
    /// </summary>
    [DatasetFact]
    public void TorchSharpFeaturesEqualOnnxRuntimesOnRealSlices()
    {
        var imageNet = ImageNetResNet18.Load();
        using var network = new ResNet18(Size, 4, imageNet);
        network.eval();
        var labels = DatasetLabels.BrainTumor;
        var images = labels.Select((label, i) => ImageLoader.Decode(File.ReadAllBytes(RepositoryPaths.DatasetImage(label, 10 * i + 3))))
            .ToList();
        int plane = Size * Size;
        var rgb = new float[images.Count * 3 * plane];
        for (int i = 0; i < images.Count; i++)
        {
            Preprocessing.HeadStandardised.Prepare(images[i], Size, Size).Pixels
                .WriteTensor(Trainer.InputNormalization, rgb.AsSpan(i * 3 * plane, 3 * plane));
        }
        // What the network's first step computes, in the ImageNet file's BGR order: 0-255 pixels minus the channel means.
        var bgr = new float[rgb.Length];
        for (int i = 0; i < images.Count; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                var source = rgb.AsSpan((i * 3 + 2 - c) * plane, plane);
                var target = bgr.AsSpan((i * 3 + c) * plane, plane);
                for (int p = 0; p < plane; p++)
                {
                    target[p] = source[p] * 255 - imageNet.MeanBgr[c];
                }
            }
        }

        float[] torchFeatures;
        using (no_grad())
        using (var input = tensor(rgb, [images.Count, 3, Size, Size]))
        using (var features = network.Features(input))
        {
            torchFeatures = features.data<float>().ToArray();
        }
        var onnxFeatures = new List<float>();
        using var session = new InferenceSession(ImageNetResNet18.NetworkPath);
        for (int i = 0; i < images.Count; i++)
        {
            // The CNTK export's batch dimension is fixed at 1.
            using var input = OrtValue.CreateTensorValueFromMemory(bgr[(i * 3 * plane)..((i + 1) * 3 * plane)], [1, 3, Size, Size]);
            using var outputs = session.Run(new RunOptions(), new Dictionary<string, OrtValue> { [ImageNetResNet18.InputName] = input },
                [ImageNetResNet18.FeaturesName]);
            onnxFeatures.AddRange(outputs[0].GetTensorDataAsSpan<float>().ToArray());
        }

        Assert.Equal(onnxFeatures.Count, torchFeatures.Length);
        double largest = onnxFeatures.Max(Math.Abs);
        double difference = onnxFeatures.Zip(torchFeatures, (a, b) => (double)Math.Abs(a - b)).Max();
        log.WriteLine($"{images.Count} slices, 512 features each: largest feature {largest:F3}, largest difference {difference:E2}");
        Assert.True(largest > 1, "the features should not be all near zero");
        Assert.True(difference <= 1e-4, $"TorchSharp and ONNX Runtime differ by {difference:E2}");
    }
}
