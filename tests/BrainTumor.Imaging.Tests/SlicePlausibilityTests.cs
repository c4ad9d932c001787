using BrainTumor.Tests;
using SkiaSharp;

namespace BrainTumor.Imaging.Tests;

public sealed class SlicePlausibilityTests
{
    private static SKBitmap Blank(int width, int height, byte level, int noise = 0, int seed = 1)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var random = new Random(seed);
        var pixels = bitmap.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i += 4)
        {
            byte value = (byte)Math.Clamp(level + random.Next(-noise, noise + 1), 0, 255);
            pixels[i] = pixels[i + 1] = pixels[i + 2] = value;
            pixels[i + 3] = 255;
        }
        return bitmap;
    }

    [Fact]
    public void EverySliceOfEachClassInTheTrainingDataCouldBeASlice()
    {
        foreach (string label in new[] { "glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor" })
        {
            foreach (string file in Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Dataset, label)).Order(StringComparer.Ordinal).Take(25))
            {
                using var slice = ImageLoader.Decode(File.ReadAllBytes(file));
                Assert.Null(SlicePlausibility.Problem(slice));
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(128)]
    [InlineData(255)]
    public void AFrameOfOneGreyLevelWithSensorNoiseIsAlmostUniform(byte level)
    {
        using var blank = Blank(300, 300, level, noise: 2);

        Assert.Contains("almost uniform", SlicePlausibility.Problem(blank));
    }

    [Fact]
    public void NoiseOfAFewGreyLevelsIsNotCalledUniformWhenItIsStrongEnough()
    {
        using var noisy = Blank(300, 300, 100, noise: 30);

        Assert.Null(SlicePlausibility.Problem(noisy));
    }

    [Theory]
    [InlineData(1000, 300)]
    [InlineData(200, 700)]
    public void AnImageWiderThanThreeToOneIsAStripNotASlice(int width, int height)
    {
        using var strip = Blank(width, height, 100, noise: 50);

        Assert.Contains($"{width}x{height}", SlicePlausibility.Problem(strip));
    }

    [Fact]
    public void TheDeviationDoesNotDependOnTheImagesSizeForTheSamePattern()
    {
        using var small = Blank(200, 200, 120, noise: 40, seed: 2);
        using var large = Blank(2000, 2000, 120, noise: 40, seed: 2);

        Assert.Equal(SlicePlausibility.GreyLevelDeviation(small), SlicePlausibility.GreyLevelDeviation(large), 0.5);
    }
}
