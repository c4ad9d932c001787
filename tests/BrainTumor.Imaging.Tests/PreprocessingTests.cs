using BrainTumor.Imaging.Rendering;
using BrainTumor.Tests;
using SkiaSharp;

namespace BrainTumor.Imaging.Tests;

public class PreprocessingTests
{
    public static TheoryData<string, int> Slices => new()
    {
        { "glioma_tumor", 0 }, { "glioma_tumor", 300 }, { "meningioma_tumor", 5 }, { "meningioma_tumor", 700 },
        { "no_tumor", 0 }, { "no_tumor", 200 }, { "pituitary_tumor", 10 }, { "pituitary_tumor", 600 },
    };

    private static SKBitmap Slice(string label, int index) =>
        ImageLoader.Decode(File.ReadAllBytes(RepositoryPaths.DatasetImage(label, index)));

    /// <summary>The slice pasted into a larger black frame at (left, top): the same anatomy with other framing.</summary>
    private static SKBitmap Framed(SKBitmap slice, int width, int height, int left, int top)
    {
        var framed = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(framed);
        canvas.Clear(SKColors.Black);
        using var image = SKImage.FromBitmap(slice);
        canvas.DrawImage(image, left, top, new SKSamplingOptions(SKFilterMode.Nearest));
        return framed;
    }

    /// <summary>Every channel of every pixel mapped to gain * value + offset (clipped), as another scanner's export might.</summary>
    private static SKBitmap Relit(SKBitmap slice, double gain, double offset)
    {
        var relit = slice.Copy();
        Span<byte> pixels = relit.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i++)
        {
            if (i % 4 != 3) pixels[i] = (byte)Math.Clamp(Math.Round(pixels[i] * gain + offset), 0, 255);
        }
        return relit;
    }

    /// <summary>
    /// Mean absolute difference of the two images' 8x8-pixel block means: a shift of a pixel or two (which the
    /// head's bounding box, found on a small copy, may move by) changes fine texture but not what the blocks show.
    /// </summary>
    private static double MeanAbsoluteDifference(RgbImage a, RgbImage b)
    {
        double total = 0;
        int blocks = 0;
        for (int by = 0; by + 8 <= a.Height; by += 8)
        {
            for (int bx = 0; bx + 8 <= a.Width; bx += 8)
            {
                double sumA = 0, sumB = 0;
                for (int y = by; y < by + 8; y++)
                {
                    for (int x = bx; x < bx + 8; x++)
                    {
                        sumA += a.Planes[y * a.Width + x];
                        sumB += b.Planes[y * b.Width + x];
                    }
                }
                total += Math.Abs(sumA - sumB) / 64;
                blocks++;
            }
        }
        return total / blocks;
    }

    [DatasetTheory]
    [MemberData(nameof(Slices))]
    public void TheCropHoldsTheWholeHeadAndLittleElse(string label, int index)
    {
        using var slice = Slice(label, index);

        var region = Preprocessing.FindHead(slice, margin: 0.04);

        // The head, counted independently: pixels clearly above the black background.
        int inside = 0, bright = 0;
        int left = slice.Width, right = 0, top = slice.Height, bottom = 0;
        for (int y = 0; y < slice.Height; y++)
        {
            for (int x = 0; x < slice.Width; x++)
            {
                var c = slice.GetPixel(x, y);
                if ((c.Red + c.Green + c.Blue) / 3 < 40) continue;
                bright++;
                left = Math.Min(left, x); right = Math.Max(right, x); top = Math.Min(top, y); bottom = Math.Max(bottom, y);
                if (x >= region.X && x < region.X + region.Width && y >= region.Y && y < region.Y + region.Height) inside++;
            }
        }
        Assert.True(inside >= 0.98 * bright, $"only {inside} of {bright} bright pixels lie in the crop {region}");
        Assert.Equal(region.Width, region.Height);
        Assert.InRange(region.Width, 0.8 * Math.Max(right - left, bottom - top), 1.25 * Math.Max(right - left, bottom - top));
    }

    [DatasetTheory]
    [MemberData(nameof(Slices))]
    public void FramingNoLongerChangesTheModelInput(string label, int index)
    {
        using var slice = Slice(label, index);
        using var framed = Framed(slice, slice.Width * 2, slice.Height + 300, left: slice.Width / 3, top: 250);

        var plain = Preprocessing.HeadStandardised.Prepare(slice, 224, 224);
        var reframed = Preprocessing.HeadStandardised.Prepare(framed, 224, 224);
        var stretchedPlain = Preprocessing.Stretch.Prepare(slice, 224, 224).Pixels;
        var stretchedReframed = Preprocessing.Stretch.Prepare(framed, 224, 224).Pixels;

        // The old pipeline sees a different picture; the new one the same head, found within 2% of its size (the
        // box is found on a copy at most 256 pixels wide, so it moves by up to one of that copy's pixels).
        double before = MeanAbsoluteDifference(stretchedPlain, stretchedReframed);
        Assert.True(before > 10);
        float tolerance = 0.02f * plain.Region.Width;
        Assert.InRange(reframed.Region.X - slice.Width / 3, plain.Region.X - tolerance, plain.Region.X + tolerance);
        Assert.InRange(reframed.Region.Y - 250, plain.Region.Y - tolerance, plain.Region.Y + tolerance);
        Assert.InRange(reframed.Region.Width, plain.Region.Width - tolerance, plain.Region.Width + tolerance);
        // A 1-2% shift changes fine texture pixel by pixel; what must not change is the picture as a whole.
        double meanPlain = plain.Pixels.Planes.Average(v => (double)v), meanReframed = reframed.Pixels.Planes.Average(v => (double)v);
        Assert.InRange(meanReframed, meanPlain - 2, meanPlain + 2);
    }

    [DatasetFact]
    public void BurnedInTextDoesNotWidenTheCrop()
    {
        using var slice = Slice("meningioma_tumor", 5);
        using var marked = slice.Copy();
        using (var canvas = new SKCanvas(marked))
        {
            canvas.DrawRect(4, 4, 30, 12, new SKPaint { Color = SKColors.White });
        }

        Assert.Equal(Preprocessing.FindHead(slice, 0.04), Preprocessing.FindHead(marked, 0.04));
    }

    [DatasetTheory]
    [InlineData(0.5, 0)]
    [InlineData(0.6, 60)]
    [InlineData(0.8, 30)]
    [InlineData(1.0, 40)]
    public void StandardisationDoesNotDependOnBrightnessOrContrast(double gain, double offset)
    {
        foreach (var (label, index) in new[] { ("glioma_tumor", 0), ("no_tumor", 200), ("pituitary_tumor", 10) })
        {
            using var slice = Slice(label, index);
            // Values above (255 - offset) / gain are clipped in the relit copy; compare on an unclipped original.
            using var original = Relit(slice, Math.Min(1, (255 - offset) / 255 / gain), 0);
            using var relitUnclipped = Relit(original, gain, offset);

            var reference = Preprocessing.HeadStandardised.Prepare(original, 224, 224).Pixels;
            var standardised = Preprocessing.HeadStandardised.Prepare(relitUnclipped, 224, 224).Pixels;
            var untouched = Preprocessing.Stretch.Prepare(original, 224, 224).Pixels;
            var untouchedRelit = Preprocessing.Stretch.Prepare(relitUnclipped, 224, 224).Pixels;

            Assert.True(MeanAbsoluteDifference(untouched, untouchedRelit) > 5, $"{label}: the change itself is too small to test anything");
            double difference = MeanAbsoluteDifference(reference, standardised);
            Assert.True(difference < 2.5, $"{label}, gain {gain}, offset {offset}: standardised inputs differ by {difference:F2} grey levels on average");
        }
    }

    [DatasetFact]
    public void StandardisationMapsTheBackgroundToBlackAndTheHeadToTheTarget()
    {
        using var slice = Relit(Slice("no_tumor", 0), 0.5, 50);

        var input = Preprocessing.HeadStandardised.Prepare(slice, 224, 224).Pixels;

        Assert.Equal(0, input.Planes[0]);
        var sorted = input.Planes.Take(input.PixelCount).Where(v => v > 0).Order().ToArray();
        Assert.InRange(sorted[(int)(0.99 * sorted.Length)], Preprocessing.HeadHighTarget - 24, 255);
    }

    /// <summary>A black image with a square "head" of the given colours (by column parity) in its middle.</summary>
    private static SKBitmap SquareHead(int side, int border, SKColor even, SKColor odd, SKColor? background = null)
    {
        var image = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        image.Erase(background ?? SKColors.Black);
        for (int y = border; y < side - border; y++)
        {
            for (int x = border; x < side - border; x++)
            {
                image.SetPixel(x, y, x % 2 == 0 ? even : odd);
            }
        }
        return image;
    }

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
        Assert.Equal(new byte[] { 200, 100, 50 }, new[] { input.Planes[centre], input.Planes[plane + centre], input.Planes[2 * plane + centre] });
        Assert.Equal(new byte[] { 0, 0, 0 }, new[] { input.Planes[0], input.Planes[plane], input.Planes[2 * plane] });
    }

    [Fact]
    public void TheHeadIsFoundByTheMeanOfItsChannels()
    {
        // Red alone would make the background (mean 30) brighter than the head (mean 90).
        using var image = SquareHead(400, 80, new SKColor(0, 30, 240), new SKColor(0, 30, 240), background: new SKColor(90, 0, 0));

        var region = Preprocessing.FindHead(image, margin: 0.04);

        Assert.InRange(region.X, 65, 75);
        Assert.InRange(region.Width, 250, 270);
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

    [Theory]
    [InlineData(0)]
    [InlineData(255)]
    public void AFlatImageIsLeftWhole(byte value)
    {
        using var flat = new SKBitmap(new SKImageInfo(40, 30, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        flat.Erase(new SKColor(value, value, value));

        var prepared = Preprocessing.HeadStandardised.Prepare(flat, 16, 16);

        Assert.Equal(InputRegion.Whole(40, 30), prepared.Region);
        Assert.All(prepared.Pixels.Planes, v => Assert.Equal(value, v));
    }

    [Fact]
    public void OtsuSplitsTwoLevelsBetweenThem()
    {
        byte[] gray = [.. Enumerable.Repeat((byte)10, 50), .. Enumerable.Repeat((byte)200, 50)];

        Assert.InRange(Preprocessing.OtsuThreshold(Preprocessing.Histogram(gray))!.Value, 10, 199);
        Assert.Null(Preprocessing.OtsuThreshold(Preprocessing.Histogram(new byte[20])));
    }

    [Fact]
    public void AGradCamMapCoversOnlyTheCroppedRegion()
    {
        float[] cam = [0, 1, 1, 0];

        float[] map = GradCamRenderer.NormaliseAndUpsample(cam, 2, 2, 10, 10, new InputRegion(2, 2, 4, 4));

        Assert.Equal(0f, map[0]);
        Assert.Equal(0f, map[9 * 10 + 9]);
        Assert.Equal(1f, map[2 * 10 + 5], 3);
        Assert.Equal(0f, map[2 * 10 + 2], 3);
    }

    [Theory]
    [InlineData("stretch", CropMode.None, IntensityMode.None)]
    [InlineData("head", CropMode.Head, IntensityMode.HeadPercentiles)]
    [InlineData("head-crop", CropMode.Head, IntensityMode.None)]
    [InlineData("Intensity", CropMode.None, IntensityMode.HeadPercentiles)]
    public void EveryNamedPipelineParsesToItsCropAndIntensity(string name, CropMode crop, IntensityMode intensity)
    {
        var parsed = Preprocessing.Parse(name);

        Assert.Equal((crop, intensity), (parsed.Crop, parsed.Intensity));
    }

    [Fact]
    public void AnUnknownPipelineNameIsRefusedWithTheNamesThereAre() =>
        Assert.Contains("stretch, head-crop, intensity or head", Assert.Throws<ArgumentException>(() => Preprocessing.Parse("sharpen")).Message);

    [Fact]
    public void AnUnknownPipelineIsRefusedByName()
    {
        var error = Assert.Throws<ArgumentException>(() => Preprocessing.Parse("sharpen"));
        Assert.Contains("sharpen", error.Message);
    }
}
