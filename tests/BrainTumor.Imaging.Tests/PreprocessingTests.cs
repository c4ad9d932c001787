using BrainTumor.Imaging.Rendering;
using BrainTumor.Tests;
using SkiaSharp;
using static BrainTumor.Imaging.Tests.PreprocessingImages;

namespace BrainTumor.Imaging.Tests;

/// <summary>The recipe: its named pipelines, and what the composed steps do together.</summary>
public sealed class PreprocessingTests
{
    [DatasetTheory]
    [MemberData(nameof(Slices), MemberType = typeof(PreprocessingImages))]
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

    [Theory]
    [InlineData("head")]
    [InlineData("stretch")]
    public void PlanesHandedToPrepareAreWrittenOverSoADirtyBufferGivesTheSameInputAsAFreshOne(string recipe)
    {
        var steps = Preprocessing.Parse(recipe);
        using var image = PreprocessingImages.SquareHead(300, 60, new SKColor(200, 200, 200), new SKColor(90, 90, 90));
        var fresh = steps.Prepare(image, 64, 64);
        var dirty = new byte[3 * 64 * 64];
        Array.Fill(dirty, (byte)77);

        var reused = steps.Prepare(image, 64, 64, dirty);

        Assert.Same(dirty, reused.Pixels.Planes);
        Assert.Equal(fresh.Pixels.Planes, reused.Pixels.Planes);
        Assert.Equal(fresh.Region, reused.Region);
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
        Assert.Contains(
            "stretch, head-crop, intensity or head", Assert.Throws<ArgumentException>(() => Preprocessing.Parse("sharpen")).Message);

    [Fact]
    public void AnUnknownPipelineIsRefusedByName()
    {
        var error = Assert.Throws<ArgumentException>(() => Preprocessing.Parse("sharpen"));
        Assert.Contains("sharpen", error.Message);
    }
}
