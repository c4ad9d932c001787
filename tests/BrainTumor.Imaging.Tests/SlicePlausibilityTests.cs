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

    [DatasetFact]
    public void EveryMriSliceOfEachClassInTheTrainingDataCouldBeASlice()
    {
        foreach (string label in new[] { "glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor" })
        {
            foreach (string file in Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Dataset, label)).Order(StringComparer.Ordinal)
                .Where(file => !RepositoryPaths.TrainingCtSlices.Contains(Path.GetRelativePath(RepositoryPaths.Dataset, file))).Take(25))
            {
                using var slice = ImageLoader.Decode(File.ReadAllBytes(file));
                Assert.Null(SlicePlausibility.Problem(slice));
            }
        }
    }

    [DatasetFact]
    [Trait("Category", "Slow")]
    public void EveryTrainingImageIsGreyEnough()
    {
        var files = Directory.EnumerateFiles(RepositoryPaths.Dataset, "*.jpg", SearchOption.AllDirectories).ToList();
        Assert.True(files.Count >= 2870, $"{files.Count} files");
        double worst = files.Max(file =>
        {
            using var slice = ImageLoader.Decode(File.ReadAllBytes(file));
            return SlicePlausibility.ColouredShare(slice);
        });
        Assert.True(worst <= SlicePlausibility.MaxColouredShare, $"a Training image has {worst:P1} coloured pixels");
    }

    /// <summary>A slice saved by a viewer in colour: a warm cast and colour noise, then JPEG at quality 40, still reads as grey.</summary>
    [Fact]
    public void JpegColourNoiseOnAGreySliceIsNotColour()
    {
        using var slice = ImageLoader.Decode(File.ReadAllBytes(PublicSlice.Jpeg));
        var random = new Random(4);
        var pixels = slice.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i += 4)
        {
            pixels[i] = (byte)Math.Clamp(pixels[i] + 6 + random.Next(-8, 9), 0, 255);
            pixels[i + 2] = (byte)Math.Clamp(pixels[i + 2] - 6 + random.Next(-8, 9), 0, 255);
        }
        using var encoded = slice.Encode(SKEncodedImageFormat.Jpeg, 40);
        using var decoded = ImageLoader.Decode(encoded.AsSpan());

        Assert.Null(SlicePlausibility.Problem(decoded));
    }

    [Fact]
    public void AGreySliceWithAColouredMarkerIsStillASlice()
    {
        using var slice = ImageLoader.Decode(File.ReadAllBytes(PublicSlice.Jpeg));
        using (var canvas = new SKCanvas(slice))
        using (var paint = new SKPaint { Color = SKColors.Red, Style = SKPaintStyle.Stroke, StrokeWidth = 2 })
        {
            canvas.DrawRect(slice.Width * 0.3f, slice.Height * 0.3f, slice.Width * 0.2f, slice.Height * 0.2f, paint);
        }

        Assert.True(SlicePlausibility.ColouredShare(slice) > 0, "the marker is coloured");
        Assert.Null(SlicePlausibility.Problem(slice));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("MR", null)]
    [InlineData("OT", null)]
    [InlineData("SC", null)]
    [InlineData("CT", SliceRefusal.LooksLikeCt)]
    [InlineData("US", SliceRefusal.NotASlice)]
    [InlineData("CR", SliceRefusal.NotASlice)]
    public void ADicomFilesModalityDecidesBeforeItsPixels(string? modality, string? refusedAs)
    {
        using var slice = ImageLoader.Decode(File.ReadAllBytes(PublicSlice.Jpeg));

        Assert.Equal(refusedAs, SlicePlausibility.Problem(slice, modality)?.Title);
    }

    [Fact]
    public void PydicomsCtSliceIsRefusedAsCtUnderEveryWindow()
    {
        foreach (var window in new (double, double)?[] { null, (40, 400), (40, 80), (300, 1500), (-600, 1500) })
        {
            var (bitmap, info) = Dicom.DicomImage.Decode(File.ReadAllBytes(RepositoryPaths.PydicomFile("CT_small.dcm")),
                new Dicom.DicomReadOptions(Window: window));
            using var _ = bitmap;

            Assert.Equal("CT", info.Modality);
            Assert.Equal(SliceRefusal.LooksLikeCt, SlicePlausibility.Problem(bitmap, info.Modality)?.Title);
        }
    }

    [Theory]
    [InlineData("coffee.png")]
    [InlineData("chelsea.png")]
    [InlineData("astronaut.png")]
    [InlineData("hubble_deep_field.jpg")]
    public void AColourPhotographIsNotAGreyscaleSlice(string name)
    {
        using var photograph = ImageLoader.Decode(File.ReadAllBytes(Path.Combine("/usr/lib/python3/dist-packages/skimage/data", name)));

        Assert.Equal(SliceRefusal.NotGreyscale, SlicePlausibility.Problem(photograph)?.Title);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(128)]
    [InlineData(255)]
    public void AFrameOfOneGreyLevelWithSensorNoiseIsAlmostUniform(byte level)
    {
        using var blank = Blank(300, 300, level, noise: 2);

        Assert.Contains("almost uniform", SlicePlausibility.Problem(blank)?.Detail);
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

        Assert.Contains($"{width}x{height}", SlicePlausibility.Problem(strip)?.Detail);
    }

    [Fact]
    public void TheDeviationDoesNotDependOnTheImagesSizeForTheSamePattern()
    {
        using var small = Blank(200, 200, 120, noise: 40, seed: 2);
        using var large = Blank(2000, 2000, 120, noise: 40, seed: 2);

        Assert.Equal(SlicePlausibility.GreyLevelDeviation(small), SlicePlausibility.GreyLevelDeviation(large), 0.5);
    }
}
