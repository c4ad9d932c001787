using BrainTumor.Imaging;
using BrainTumor.Inference;
using BrainTumor.Tests;

namespace BrainTumor.Evaluation.Tests;

public sealed class GradCamChecksTests
{
    [Fact]
    public void TheBlurredCopyKeepsAFlatImageAndSoftensAnEdge()
    {
        var flat = Grey(28, 28, (_, _) => 90);
        var edge = Grey(28, 28, (x, _) => (byte)(x < 14 ? 0 : 200));

        var blurredFlat = GradCamSanityChecks.Blurred(flat);
        var blurredEdge = GradCamSanityChecks.Blurred(edge);

        Assert.Equal(flat.Planes, blurredFlat.Planes);
        byte Red(RgbImage image, int x) => image.Planes[10 * 28 + x];
        // Far from the edge the values stay; at the edge they meet half-way.
        Assert.Equal(0, Red(blurredEdge, 0));
        Assert.Equal(200, Red(blurredEdge, 27));
        Assert.InRange(Red(blurredEdge, 13), 60, 100);
        Assert.InRange(Red(blurredEdge, 14), 100, 140);
    }

    [Fact]
    public void PixelsAreRemovedAndInsertedInTheOrderOfTheMapMostSalientFirst()
    {
        var image = Grey(8, 8, (_, _) => 200);
        var canvas = Grey(8, 8, (_, _) => 10);
        float[] map = new float[4];
        map[3] = 1; // the bottom right quarter of a 2x2 map

        int[] order = GradCamSanityChecks.SaliencyOrder(image, map, 2, 2);
        var replaced = GradCamSanityChecks.Replaced(image, canvas, order, 4);

        // Upsampled bilinearly between cell centres, the map is at its maximum from the hot cell's centre (pixel 6, 6) to the
        // corner; those four tie and go by position.
        Assert.Equal([6 * 8 + 6, 6 * 8 + 7, 7 * 8 + 6, 7 * 8 + 7], order[..4]);
        Assert.Equal(64, order.Distinct().Count());
        Assert.Equal(order[..4], Enumerable.Range(0, 64).Where(p => replaced.Planes[p] == 10));
        Assert.Equal(replaced.Planes.AsSpan(0, 64).ToArray(), replaced.Planes.AsSpan(128, 64).ToArray());
    }

    private static RgbImage Grey(int width, int height, Func<int, int, byte> value)
    {
        var planes = new byte[3 * width * height];
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            planes[y * width + x] = planes[width * height + y * width + x] = planes[2 * width * height + y * width + x] = value(x, y);
        }
        return new RgbImage(width, height, planes);
    }

    [DatasetFact]
    public void AMapOnTheBackgroundLiesOutsideTheHeadAndAMapOnTheHeadInsideIt()
    {
        using var slice = ImageLoader.Decode(File.ReadAllBytes(RepositoryPaths.DatasetImage("glioma_tumor", 3)));
        var input = Preprocessing.HeadStandardised.Prepare(slice, 224, 224).Pixels;
        float[] corner = new float[14 * 14], centre = new float[14 * 14];
        corner[0] = 1;
        centre[7 * 14 + 7] = 1;

        double onBackground = GradCamSanityChecks.OutsideHeadShare(input, new GradCamMap(0, "x", 14, 14, corner));
        double onHead = GradCamSanityChecks.OutsideHeadShare(input, new GradCamMap(0, "x", 14, 14, centre));

        Assert.True(onBackground > 0.9, $"{onBackground}");
        Assert.True(onHead < 0.05, $"{onHead}");
    }

    [Fact]
    public void TheDeletionCheckBlanksExactlyTheShareOfPixelsWhereTheMapIsHighest()
    {
        var planes = Enumerable.Repeat((byte)200, 3 * 4 * 4).ToArray();
        var image = new RgbImage(4, 4, planes);

        // A 2x2 map whose bottom-right cell is hottest: upsampled, it is highest at the bottom-right pixel and falls off from there.
        var blanked = GradCamDeletionCheck.Blank(image, [0f, 0f, 0f, 1f], 2, 2, fraction: 0.25);

        int[] black = Enumerable.Range(0, 16).Where(i => blanked.Planes[i] == 0).ToArray();
        Assert.Equal([10, 11, 14, 15], black);
        Assert.All(black, i => Assert.Equal((0, 0), (blanked.Planes[16 + i], blanked.Planes[32 + i])));
        Assert.Equal(200, image.Planes[15]);
    }
}
