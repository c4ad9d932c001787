using BrainTumor.Imaging.Rendering;
using SkiaSharp;

namespace BrainTumor.Imaging.Tests;

public class RenderingTests
{
    [Fact]
    public void JetRunsFromDarkBlueThroughGreenToDarkRed()
    {
        Assert.Equal(new SKColor(0, 0, 128), Colormap.Jet(0f));
        var middle = Colormap.Jet(0.5f);
        Assert.Equal(255, middle.Green);
        Assert.InRange(middle.Red, 125, 131);
        Assert.InRange(middle.Blue, 125, 131);
        Assert.Equal(new SKColor(128, 0, 0), Colormap.Jet(1f));
        Assert.Equal(Colormap.Jet(1f), Colormap.Jet(7f));
    }

    [Fact]
    public void UpsamplingNormalisesToZeroToOneAndInterpolatesBilinearly()
    {
        float[] cam = [2, 4, 6, 10];

        float[] map = GradCamRenderer.NormaliseAndUpsample(cam, 2, 2, 4, 4);

        Assert.Equal(16, map.Length);
        Assert.Equal(0f, map[0], 5);
        Assert.Equal(1f, map[15], 5);
        // Pixel (1, 0) sits a quarter of the way from the first source column to the second.
        Assert.Equal(0.25f * 0.25f, map[1], 5);
        Assert.All(map, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void AFlatMapBecomesAllZeros()
    {
        float[] map = GradCamRenderer.NormaliseAndUpsample([3, 3, 3, 3], 2, 2, 5, 5);

        Assert.All(map, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void OverlayBlendsTheColormapOverTheImage()
    {
        using var image = new SKBitmap(new SKImageInfo(2, 1, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        image.Erase(new SKColor(100, 100, 100));

        using var none = GradCamRenderer.Overlay(image, [0f, 1f], alpha: 0f);
        using var full = GradCamRenderer.Overlay(image, [0f, 1f], alpha: 1f);
        using var half = GradCamRenderer.Overlay(image, [0f, 1f], alpha: 0.5f);

        Assert.Equal(new SKColor(100, 100, 100), none.GetPixel(1, 0));
        Assert.Equal(Colormap.Jet(1f), full.GetPixel(1, 0));
        Assert.Equal(new SKColor(114, 50, 50), half.GetPixel(1, 0));
    }

    [Fact]
    public void MaskIsEightBitGrayscaleOfTheMap()
    {
        using var mask = GradCamRenderer.Mask([0f, 0.5f, 1f], 3, 1);

        Assert.Equal(SKColorType.Gray8, mask.ColorType);
        Assert.Equal([0, 128, 255], mask.GetPixelSpan().ToArray());
    }

    [Fact]
    public void AMapOfTheWrongSizeIsRefused()
    {
        using var image = new SKBitmap(4, 4);

        Assert.Throws<ArgumentException>(() => GradCamRenderer.Overlay(image, new float[3]));
    }

    [Fact]
    public void CaptionWritesVisibleTextWithoutResizing()
    {
        using var black = new SKBitmap(new SKImageInfo(256, 256, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        black.Erase(SKColors.Black);

        using var captioned = Annotator.Caption(black, "Glioma tumor 93.0%");

        Assert.Equal((256, 256), (captioned.Width, captioned.Height));
        int bright = 0;
        for (int y = 0; y < 30; y++)
        for (int x = 0; x < 256; x++)
        {
            bright += captioned.GetPixel(x, y).Red > 200 ? 1 : 0;
        }
        Assert.True(bright > 100, $"only {bright} bright pixels in the caption band");
        Assert.Equal(SKColors.Black, captioned.GetPixel(128, 200));
    }

    private static readonly GradCamLegend Legend =
        new("Glioma tumor", "Meningioma tumor", 0.873f, "lite-cnn", "2026.12.01-e26", "HiResCAM");

    [Fact]
    public void TheLegendGoesBelowThePictureWithAColourBarFromLowToHigh()
    {
        using var picture = TestImages.TwoHalves(400, 300);

        using var annotated = Legend.DrawBelow(picture);

        Assert.Equal(400, annotated.Width);
        Assert.True(annotated.Height > 300);
        Assert.Equal(picture.GetPixel(10, 10), annotated.GetPixel(10, 10));
        Assert.Equal(picture.GetPixel(390, 290), annotated.GetPixel(390, 290));
        // Along the bar's row, the colours run from JET's blue end to its red end.
        bool barFound = Enumerable.Range(300, (annotated.Height - 300) / 3).Any(y =>
        {
            var row = Enumerable.Range(0, 400).Select(x => annotated.GetPixel(x, y)).ToList();
            int firstBlue = row.FindIndex(c => c.Blue > 100 && c.Red < 30 && c.Green < 30);
            int lastRed = row.FindLastIndex(c => c.Red > 100 && c.Blue < 30 && c.Green < 30);
            return firstBlue >= 0 && lastRed > firstBlue + 150;
        });
        Assert.True(barFound, "no row of the panel's top third runs from blue to red");
    }

    [Fact]
    public void TheLegendCarriesTheExplainedClassTheAnswerTheModelTheMethodAndTheResearchUseLine()
    {
        Assert.Contains("Map for: Glioma tumor", Legend.Lines[0]);
        Assert.Contains("Answer: Meningioma tumor 87.3%", Legend.Lines[0]);
        Assert.Contains("lite-cnn 2026.12.01-e26, HiResCAM", Legend.Lines[1]);
        Assert.Equal(GradCamLegend.ResearchUse, Legend.Lines[2]);
    }

    [Fact]
    public void ASmallPictureIsEnlargedPixelForPixelSoThatTheLegendCanBeRead()
    {
        using var picture = TestImages.TwoHalves(64, 64);

        using var annotated = Legend.DrawBelow(picture);

        Assert.Equal(256, annotated.Width);
        Assert.Equal(picture.GetPixel(31, 0), annotated.GetPixel(127, 0));
        Assert.Equal(picture.GetPixel(32, 63), annotated.GetPixel(128, 255));
        // The text is drawn: the panel below has many white pixels.
        int white = 0;
        for (int y = 256; y < annotated.Height; y++)
        for (int x = 0; x < 256; x++)
        {
            white += annotated.GetPixel(x, y) is { Red: > 200, Green: > 200, Blue: > 200 } ? 1 : 0;
        }
        Assert.True(white > 300, $"only {white} white pixels in the legend");
    }

    [Theory]
    [InlineData(SKColorType.Rgba8888, SKAlphaType.Opaque, 3)]
    [InlineData(SKColorType.Rgba8888, SKAlphaType.Unpremul, 4)]
    [InlineData(SKColorType.Gray8, SKAlphaType.Opaque, 1)]
    [InlineData(SKColorType.Bgra8888, SKAlphaType.Premul, 4)]
    public void PngEncodingGivesBackEveryPixelAndStoresOnlyTheChannelsTheBitmapNeeds(SKColorType colorType, SKAlphaType alphaType,
        int channels)
    {
        // An odd width and noise-like content, so that rows end off the vector width and the Up filter wraps around.
        using var image = new SKBitmap(new SKImageInfo(37, 23, colorType, alphaType));
        var random = new Random(7);
        for (int y = 0; y < image.Height; y++)
        for (int x = 0; x < image.Width; x++)
        {
            byte level = (byte)random.Next(256);
            image.SetPixel(x, y, new SKColor(level, (byte)(255 - level), (byte)random.Next(256),
                alphaType == SKAlphaType.Unpremul ? (byte)(x * 7) : (byte)255));
        }

        byte[] png = ImageEncoder.Png(image);
        // Decoded unpremultiplied, so that a transparent pixel keeps its colour.
        using var decoded = SKBitmap.Decode(png, new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));

        // IHDR's colour type: 0 grey, 2 RGB, 6 RGBA.
        Assert.Equal(channels switch { 1 => 0, 3 => 2, _ => 6 }, png[25]);
        for (int y = 0; y < image.Height; y++)
        for (int x = 0; x < image.Width; x++)
        {
            Assert.Equal(image.GetPixel(x, y), decoded.GetPixel(x, y));
        }
    }
}
