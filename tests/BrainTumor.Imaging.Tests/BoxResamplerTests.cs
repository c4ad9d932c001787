using SkiaSharp;
using static BrainTumor.Imaging.Tests.PreprocessingImages;

namespace BrainTumor.Imaging.Tests;

/// <summary>The box-filter resampling (and its grey-image shortcut), through the head-crop pipeline that uses it.</summary>
public sealed class BoxResamplerTests
{
    [Fact]
    public void DownscalingAveragesFineStripesInsteadOfAliasingThem()
    {
        // One-pixel stripes of 100 and 200 brought from a head of about 340 pixels to 224: each input pixel covers about
        // 1.5 source columns, so a box filter mixes the two levels everywhere, where point sampling would return them.
        using var image = SquareHead(448, 64, new SKColor(100, 100, 100), new SKColor(200, 200, 200));

        var input = new Preprocessing(CropMode.Head, 0.04).Prepare(image, 224, 224).Pixels;

        var inside = Enumerable.Range(40, 144).SelectMany(y => Enumerable.Range(40, 144).Select(x => input.Planes[y * 224 + x])).ToArray();
        Assert.All(inside, v => Assert.InRange(v, 120, 180));
        Assert.InRange(inside.Average(v => v), 145, 155);
    }

    [Fact]
    public void AColourImageKeepsEachChannelsOwnLevels()
    {
        using var image = SquareHead(400, 80, new SKColor(200, 100, 50), new SKColor(200, 100, 50));

        var input = new Preprocessing(CropMode.Head, 0.04).Prepare(image, 64, 64).Pixels;

        int centre = 32 * 64 + 32, plane = input.PixelCount;
        Assert.Equal(
            new byte[] { 200, 100, 50 }, new[] { input.Planes[centre], input.Planes[plane + centre], input.Planes[2 * plane + centre] });
        Assert.Equal(new byte[] { 0, 0, 0 }, new[] { input.Planes[0], input.Planes[plane], input.Planes[2 * plane] });
    }

    [Theory]
    [InlineData(0)]
    [InlineData(401 * 399 - 1)]
    public void OneColouredPixelIsEnoughToResampleInColour(int colouredPixel)
    {
        // 401 x 399 pixels: the first is checked in the vectorised part of the grey test, the last in the part after it.
        using var image = new SKBitmap(new SKImageInfo(401, 399, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        image.Erase(new SKColor(100, 100, 100));
        image.SetPixel(colouredPixel % 401, colouredPixel / 401, new SKColor(255, 0, 0));

        var input = new Preprocessing(CropMode.Head, 0.04).Prepare(image, 64, 64).Pixels;

        int plane = input.PixelCount;
        Assert.NotEqual(input.Planes.AsSpan(0, plane).ToArray(), input.Planes.AsSpan(plane, plane).ToArray());
    }
}
