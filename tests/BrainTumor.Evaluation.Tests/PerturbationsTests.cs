using SkiaSharp;

namespace BrainTumor.Evaluation.Tests;

public sealed class PerturbationsTests
{
    [Fact]
    public void ContrastIsScaledAboutTheGivenGreyLevelThenBrightnessAddedAndTheResultClamped()
    {
        using var image = new SKBitmap(new SKImageInfo(2, 1, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        image.SetPixel(0, 0, new SKColor(100, 100, 100, 200));
        image.SetPixel(1, 0, new SKColor(200, 200, 200, 255));

        using var changed = Perturbations.BrightnessAndContrast(image, brightness: 10, contrast: 2, about: 150);

        Assert.Equal(new SKColor(60, 60, 60, 200), changed.GetPixel(0, 0));
        Assert.Equal(new SKColor(255, 255, 255, 255), changed.GetPixel(1, 0));
        Assert.Equal(150, Perturbations.MeanGrey(image));
    }
}
