using BrainTumor.Training.Architectures;

namespace BrainTumor.Training.Tests;

[Trait("Category", "Slow")]
public class ArchitectureTests
{
    [Theory]
    [InlineData("paper-cnn", 5_761_348)]
    [InlineData("paper-cnn-small", 6_516_100)]
    [InlineData("paper-cnn-deeper", 3_729_988)]
    public void PaperArchitecturesHaveThePublishedParameterCountsAt224(string name, long parameters)
    {
        using var network = ArchitectureRegistry.Get(name).Create(224, 4);

        Assert.Equal(parameters, network.ParameterCount());
        // Without batch norm, the exported description carries exactly the trained weights.
        Assert.Equal(parameters, network.Describe().Layers.Sum(l => l switch
        {
            BrainTumor.Onnx.Conv2dLayer c => c.Weight.Length + c.Bias.Length,
            BrainTumor.Onnx.DenseLayer d => d.Weight.Length + d.Bias.Length,
            _ => 0,
        }));
    }

    [Fact]
    public void PaperCnnCostsTheHandCountedMultiplyAdds()
    {
        using var network = ArchitectureRegistry.Get("paper-cnn").Create(224, 4);

        // conv1 222x222x64x(3x3x3) + conv2 109x109x128x(3x3x64) + conv3 52x52x128x(3x3x128) + dense 86,528x64 + 64x4
        Assert.Equal(85_162_752L + 875_962_368L + 398_721_024L + 5_537_792L + 256L, network.Describe().MultiplyAdds());
    }

    [Fact]
    public void LiteCnnNeedsAtMostATenthOfPaperCnnsComputeAndExplainsAt14By14OrFiner()
    {
        using var paper = ArchitectureRegistry.Get("paper-cnn").Create(224, 4);
        using var lite = ArchitectureRegistry.Get("lite-cnn").Create(224, 4);
        var description = lite.Describe();

        Assert.True(10 * description.MultiplyAdds() <= paper.Describe().MultiplyAdds());
        var camShape = description.Shapes()[description.GradCamLayerIndex];
        Assert.True(camShape.Height >= 14 && camShape.Width >= 14);
    }

    [Fact]
    public void ResNet50HasTheStandardParameterCountWithAFourClassHead()
    {
        using var network = ArchitectureRegistry.Get("resnet50").Create(224, 4);

        // torchvision's resnet50: 25,557,032 with 1000 classes, of which the head is 2048 * 1000 + 1000.
        Assert.Equal(25_557_032 - 2_049_000 + 2048 * 4 + 4, network.ParameterCount());
        var description = network.Describe();
        var camShape = description.Shapes()[description.GradCamLayerIndex];
        Assert.Equal((2048, 7, 7), (camShape.Channels, camShape.Height, camShape.Width));
    }

    /// <summary>
    /// torchvision's counts with 1000 classes, less their classifier, plus a 4-class one: densenet121 7,978,856 (head
    /// 1024 x 1000 + 1000), mobilenet_v2 3,504,872 and efficientnet_b0 5,288,548 (heads 1280 x 1000 + 1000).
    /// </summary>
    [Theory]
    [InlineData("densenet121", 7_978_856 - 1_025_000 + 1024 * 4 + 4, 1024)]
    [InlineData("mobilenetv2", 3_504_872 - 1_281_000 + 1280 * 4 + 4, 1280)]
    [InlineData("efficientnetb0", 5_288_548 - 1_281_000 + 1280 * 4 + 4, 1280)]
    public void PaperTable2ArchitecturesHaveTorchvisionsParameterCountsWithAFourClassHead(string name, long parameters, int camChannels)
    {
        using var network = ArchitectureRegistry.Get(name).Create(224, 4);

        Assert.Equal(parameters, network.ParameterCount());
        var description = network.Describe();
        var camShape = description.Shapes()[description.GradCamLayerIndex];
        Assert.Equal(network.GradCamLayer, description.GradCamLayerName);
        Assert.Equal((camChannels, 7, 7), (camShape.Channels, camShape.Height, camShape.Width));
    }

    [Fact]
    public void PaperCnnExplainsTheLastConvolutionsReluOutputAt52By52()
    {
        using var network = ArchitectureRegistry.Get("paper-cnn").Create(224, 4);
        var description = network.Describe();

        var camShape = description.Shapes()[description.GradCamLayerIndex];
        Assert.Equal("relu3", description.GradCamLayerName);
        Assert.Equal(network.GradCamLayer, description.GradCamLayerName);
        Assert.Equal((128, 52, 52), (camShape.Channels, camShape.Height, camShape.Width));
        Assert.Equal(4, description.Shapes()[^1].Features);
    }

    [Theory]
    [InlineData("paper-cnn")]
    [InlineData("paper-cnn-deeper")]
    [InlineData("lite-cnn")]
    [InlineData("mobilenetv2")]
    [InlineData("efficientnetb0")]
    public void ChannelsLastInputGivesTheSameLogitsAndGradients(string name) => CompareChannelsLast(name);

    [TheoryWhereLibTorchRunsResNet50]
    [InlineData("resnet50")]
    [InlineData("densenet121")]
    public void ChannelsLastInputGivesTheSameLogitsAndGradientsInResNet50AndDenseNet121(string name) => CompareChannelsLast(name);

    private static void CompareChannelsLast(string name)
    {
        TorchSharp.torch.random.manual_seed(7);
        using var network = ArchitectureRegistry.Get(name).Create(64, 4);
        // Evaluation mode keeps dropout out of the comparison; backward still runs the channels-last kernels.
        network.eval();
        using var images = TorchSharp.torch.randn(2, 3, 64, 64);

        var (plainLogits, plainGradient) = LogitsAndFirstGradient(network, images);
        using var channelsLast = Batches.ToChannelsLast(images);
        var (channelsLastLogits, channelsLastGradient) = LogitsAndFirstGradient(network, channelsLast);

        Assert.NotEqual(images.stride(1), channelsLast.stride(1));
        Assert.True(plainLogits.allclose(channelsLastLogits, rtol: 1e-4, atol: 1e-5));
        Assert.True(plainGradient.allclose(channelsLastGradient, rtol: 1e-3, atol: 1e-5));
    }

    private static (TorchSharp.torch.Tensor Logits, TorchSharp.torch.Tensor Gradient) LogitsAndFirstGradient(
        ClassifierNetwork network, TorchSharp.torch.Tensor images)
    {
        network.zero_grad();
        var logits = network.call(images);
        logits.sum().backward();
        var weight = network.parameters().First();
        return (logits.detach(), weight.grad!.clone());
    }

    [Fact]
    public void UnknownArchitectureIsRefusedWithTheKnownNames()
    {
        var error = Assert.Throws<TrainingException>(() => ArchitectureRegistry.Get("resnet9000"));

        Assert.Contains("paper-cnn", error.Message);
    }

    [Fact]
    public void TooSmallAnImageIsRefused()
    {
        var error = Assert.Throws<TrainingException>(() => ArchitectureRegistry.Get("paper-cnn").Create(16, 4));

        Assert.Contains("larger images", error.Message);
    }
}
