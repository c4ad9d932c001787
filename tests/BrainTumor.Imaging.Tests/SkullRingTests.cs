using BrainTumor.Tests;
using SkiaSharp;

namespace BrainTumor.Imaging.Tests;

public sealed class SkullRingTests
{
    /// <summary>
    /// A head drawn as nested ellipses on black: scalp, skull, brain (with some texture), each a grey level. On CT the skull is the
    /// brightest and the brain lies directly inside it; on MRI the scalp's fat is the brightest and the skull is a dark band.
    /// </summary>
    private static SKBitmap Head(byte scalp, byte skull, byte brain, float scalpWidth, float skullWidth)
    {
        var bitmap = new SKBitmap(new SKImageInfo(256, 256, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { IsAntialias = true })
        {
            canvas.Clear(SKColors.Black);
            var outline = new SKRect(28, 14, 228, 242);
            foreach (var (level, inset) in new[] { (scalp, 0f), (skull, scalpWidth), (brain, scalpWidth + skullWidth) })
            {
                paint.Color = new SKColor(level, level, level);
                var rect = outline;
                rect.Inflate(-inset, -inset);
                canvas.DrawOval(rect, paint);
            }
            // Ventricles and sulci: darker patches, so that the brain is not one grey level.
            paint.Color = new SKColor((byte)(brain / 3), (byte)(brain / 3), (byte)(brain / 3));
            canvas.DrawOval(new SKRect(110, 90, 124, 150), paint);
            canvas.DrawOval(new SKRect(132, 90, 146, 150), paint);
        }
        return bitmap;
    }

    [Fact]
    public void AHeadWhoseSkullIsTheBrightestRingWithTheBrainDirectlyInsideLooksLikeCt()
    {
        using var ct = Head(scalp: 70, skull: 255, brain: 120, scalpWidth: 4, skullWidth: 10);

        Assert.True(SkullRing.BrightRingShare(ct) > SlicePlausibility.MaxBrightRingShare, $"{SkullRing.BrightRingShare(ct)}");
        Assert.Equal(SliceRefusal.LooksLikeCt, SlicePlausibility.Problem(ct)?.Title);
    }

    [Theory]
    [InlineData("MR", null)]
    [InlineData("OT", SliceRefusal.LooksLikeCt)]
    [InlineData(null, SliceRefusal.LooksLikeCt)]
    public void ADicomFileThatSaysMrIsNotRefusedForItsSkullButAScreenshotIs(string? modality, string? refusedAs)
    {
        using var ct = Head(scalp: 70, skull: 255, brain: 120, scalpWidth: 4, skullWidth: 10);

        Assert.Equal(refusedAs, SlicePlausibility.Problem(ct, modality)?.Title);
    }

    [Fact]
    public void AHeadWithABrightScalpAndADarkSkullLooksLikeMri()
    {
        using var mri = Head(scalp: 230, skull: 25, brain: 120, scalpWidth: 10, skullWidth: 6);

        Assert.True(SkullRing.BrightRingShare(mri) < 0.2, $"{SkullRing.BrightRingShare(mri)}");
        Assert.Null(SlicePlausibility.Problem(mri));
    }

    [Fact]
    public void AnImageWithNoHeadHasNoRing()
    {
        using var black = new SKBitmap(new SKImageInfo(64, 64, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        black.Erase(SKColors.Black);

        Assert.Equal(0, SkullRing.BrightRingShare(black));
    }

    /// <summary>Shapes and patterns no slice has: the rule answers a share for each, and never throws.</summary>
    [Fact]
    public void AnyImageOfAnAcceptedShapeGetsAShareBetweenZeroAndOne()
    {
        var random = new Random(7);
        foreach (var (width, height) in new[] { (64, 64), (64, 192), (300, 100), (97, 211), (640, 480) })
        {
            for (int pattern = 0; pattern < 4; pattern++)
            {
                using var image = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
                var pixels = image.GetPixelSpan();
                for (int i = 0; i < pixels.Length; i += 4)
                {
                    int p = i / 4, x = p % width, y = p / width;
                    byte level = pattern switch
                    {
                        0 => (byte)random.Next(256),
                        1 => (byte)(x * 255 / width),
                        2 => (byte)((x / 8 + y / 8) % 2 * 255),
                        _ => (byte)((x - width / 2) * (x - width / 2) + (y - height / 2) * (y - height / 2) < width * height / 8 ? 255 : 0),
                    };
                    pixels[i] = pixels[i + 1] = pixels[i + 2] = level;
                    pixels[i + 3] = 255;
                }

                double share = SkullRing.BrightRingShare(image);

                Assert.InRange(share, 0, 1);
            }
        }
    }

    /// <summary>The rule against the hand-labelled Training data (data/modality/training-ct.csv), at full size and as the server
    /// decodes.</summary>
    [DatasetFact]
    [Trait("Category", "Slow")]
    public void EveryTrainingMriSlicePassesAndAllButThreeOfItsCtSlicesAreRefusedAsCt()
    {
        var files = Directory.EnumerateFiles(RepositoryPaths.Dataset, "*.jpg", SearchOption.AllDirectories).ToList();
        Assert.True(files.Count >= 2870, $"{files.Count} files");
        var refusedMri = new List<string>();
        int refusedCt = 0;
        foreach (string file in files)
        {
            bool isCt = RepositoryPaths.TrainingCtSlices.Contains(Path.GetRelativePath(RepositoryPaths.Dataset, file));
            byte[] bytes = File.ReadAllBytes(file);
            foreach (SKSizeI? atLeast in new SKSizeI?[] { null, new SKSizeI(128, 128), new SKSizeI(224, 224) })
            {
                using var slice = ImageLoader.Decode(bytes, atLeast: atLeast);
                var problem = SlicePlausibility.Problem(slice);
                if (!isCt && problem is not null) refusedMri.Add($"{Path.GetFileName(file)} at {atLeast}: {problem.Detail}");
                if (isCt && atLeast is null && problem?.Title == SliceRefusal.LooksLikeCt) refusedCt++;
            }
        }

        Assert.True(refusedMri.Count == 0, string.Join("\n", refusedMri));
        Assert.Equal(36, RepositoryPaths.TrainingCtSlices.Count);
        Assert.True(refusedCt >= 33, $"{refusedCt} of 36 CT slices refused as CT");
    }
}
