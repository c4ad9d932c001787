using BrainTumor.Training.Architectures;

namespace BrainTumor.Training.Tests;

public class ArchitectureTests
{
    [Fact]
    public void PaperCnnHasThePublishedParameterCountAt224()
    {
        using var network = ArchitectureRegistry.Get("paper-cnn").Create(224, 4);

        Assert.Equal(5_761_348, network.ParameterCount());
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
