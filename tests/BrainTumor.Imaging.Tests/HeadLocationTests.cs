using BrainTumor.Tests;
using SkiaSharp;
using static BrainTumor.Imaging.Tests.PreprocessingImages;

namespace BrainTumor.Imaging.Tests;

public sealed class HeadLocationTests
{
    /// <summary>
    /// A 100x100 input: black, a bright ring (the skull) of radius 30-36 around (50, 50), dark grey inside it, and a bright
    /// 2x2 speck.
    /// </summary>
    private static RgbImage Skull()
    {
        int side = 100, plane = side * side;
        var planes = new byte[3 * plane];
        for (int y = 0; y < side; y++)
        {
            for (int x = 0; x < side; x++)
            {
                double r = Math.Sqrt((x - 50) * (x - 50) + (y - 50) * (y - 50));
                byte value = r <= 36 && r >= 30 ? (byte)220 : r < 30 ? (byte)40 : (byte)0;
                if (x is 5 or 6 && y is 5 or 6) value = 255;
                planes[y * side + x] = planes[plane + y * side + x] = planes[2 * plane + y * side + x] = value;
            }
        }
        return new RgbImage(side, side, planes);
    }

    [Fact]
    public void TheHeadIsTheSkullWithEverythingInsideItAndNotTheBackground()
    {
        var mask = HeadLocation.Mask(Skull());

        Assert.True(mask[50 * 100 + 50], "the dark inside of the skull is head");
        Assert.True(mask[50 * 100 + 17], "the skull itself is head");
        Assert.False(mask[50 * 100 + 10], "outside the skull is background");
        Assert.False(mask[2 * 100 + 98], "the corner is background");
        Assert.False(mask[5 * 100 + 5], "a bright speck far smaller than the head is not head");
    }

    [Fact]
    public void ComponentsJoinThroughSharedEdgesOnlyAndAnOpenShapeKeepsItsGap()
    {
        // A U (two arms joined only at the bottom, so their runs meet late) and a 3x3 block that touches its corner diagonally.
        int side = 40, plane = side * side;
        var planes = new byte[3 * plane];
        bool Bright(int x, int y) =>
            (x is >= 5 and <= 9 or >= 30 and <= 34) && y is >= 5 and <= 34 || x is >= 5 and <= 34 && y is >= 30 and <= 34
            || x is >= 35 and <= 37 && y is >= 35 and <= 37;
        for (int p = 0; p < plane; p++)
        {
            planes[p] = planes[plane + p] = planes[2 * plane + p] = Bright(p % side, p / side) ? (byte)200 : (byte)0;
        }

        var mask = HeadLocation.Mask(new RgbImage(side, side, planes));

        Assert.True(mask[10 * side + 7] && mask[10 * side + 32], "both arms are the U's, joined through its bottom");
        Assert.False(mask[15 * side + 20], "the U's gap opens to the border, so it is not inside the head");
        Assert.False(mask[36 * side + 36], "a block touching only at a corner is a separate, small component");
    }

    [Fact]
    public void AFlatInputHasNoHead()
    {
        Assert.DoesNotContain(true, HeadLocation.Mask(new RgbImage(10, 10, new byte[300])));
    }

    [DatasetFact]
    public void OnARealSliceTheHeadIsMostOfTheCropAndTheCornersAreNot()
    {
        using var slice = Slice("no_tumor", 5);
        var input = Preprocessing.HeadStandardised.Prepare(slice, 224, 224).Pixels;

        var mask = HeadLocation.Mask(input);

        Assert.InRange(mask.Count(m => m) / (224.0 * 224), 0.4, 0.95);
        Assert.False(mask[0]);
        Assert.False(mask[224 * 224 - 1]);
        Assert.True(mask[112 * 224 + 112]);
    }

    [DatasetTheory]
    [MemberData(nameof(Slices), MemberType = typeof(PreprocessingImages))]
    public void TheCropHoldsTheWholeHeadAndLittleElse(string label, int index)
    {
        using var slice = Slice(label, index);

        var region = HeadLocation.CropBox(slice, margin: 0.04);

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

    [DatasetFact]
    public void BurnedInTextDoesNotWidenTheCrop()
    {
        using var slice = Slice("meningioma_tumor", 5);
        using var marked = slice.Copy();
        using (var canvas = new SKCanvas(marked))
        {
            canvas.DrawRect(4, 4, 30, 12, new SKPaint { Color = SKColors.White });
        }

        Assert.Equal(HeadLocation.CropBox(slice, 0.04), HeadLocation.CropBox(marked, 0.04));
    }

    [Fact]
    public void TheHeadIsFoundByTheMeanOfItsChannels()
    {
        // Red alone would make the background (mean 30) brighter than the head (mean 90).
        using var image = SquareHead(400, 80, new SKColor(0, 30, 240), new SKColor(0, 30, 240), background: new SKColor(90, 0, 0));

        var region = HeadLocation.CropBox(image, margin: 0.04);

        Assert.InRange(region.X, 65, 75);
        Assert.InRange(region.Width, 250, 270);
    }
}
