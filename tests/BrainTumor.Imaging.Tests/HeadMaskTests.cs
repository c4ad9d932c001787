using BrainTumor.Tests;
using SkiaSharp;

namespace BrainTumor.Imaging.Tests;

public sealed class HeadMaskTests
{
    /// <summary>A 100x100 input: black, a bright ring (the skull) of radius 30-36 around (50, 50), dark grey inside it, and a bright 2x2 speck.</summary>
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
        var mask = Preprocessing.HeadMask(Skull());

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

        var mask = Preprocessing.HeadMask(new RgbImage(side, side, planes));

        Assert.True(mask[10 * side + 7] && mask[10 * side + 32], "both arms are the U's, joined through its bottom");
        Assert.False(mask[15 * side + 20], "the U's gap opens to the border, so it is not inside the head");
        Assert.False(mask[36 * side + 36], "a block touching only at a corner is a separate, small component");
    }

    [Fact]
    public void AFlatInputHasNoHead()
    {
        Assert.DoesNotContain(true, Preprocessing.HeadMask(new RgbImage(10, 10, new byte[300])));
    }

    [DatasetFact]
    public void OnARealSliceTheHeadIsMostOfTheCropAndTheCornersAreNot()
    {
        using var slice = ImageLoader.Decode(File.ReadAllBytes(BrainTumor.Tests.RepositoryPaths.DatasetImage("no_tumor", 5)));
        var input = Preprocessing.HeadStandardised.Prepare(slice, 224, 224).Pixels;

        var mask = Preprocessing.HeadMask(input);

        Assert.InRange(mask.Count(m => m) / (224.0 * 224), 0.4, 0.95);
        Assert.False(mask[0]);
        Assert.False(mask[224 * 224 - 1]);
        Assert.True(mask[112 * 224 + 112]);
    }
}
