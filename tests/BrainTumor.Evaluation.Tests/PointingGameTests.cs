using BrainTumor.Evaluation;

namespace BrainTumor.Evaluation.Tests;

public sealed class PointingGameTests
{
    private static readonly LesionBox Box = new("glioma_tumor/a.jpg", "00", "glioma_tumor", "axial", 0.50, 0.50, 0.70, 0.80);

    /// <summary>A 100x100 map that is 1 at one pixel and <paramref name="floor"/> elsewhere.</summary>
    private static float[] Peak(int x, int y, float floor = 0)
    {
        var map = Enumerable.Repeat(floor, 100 * 100).ToArray();
        map[y * 100 + x] = 1;
        return map;
    }

    [Fact]
    public void AMapPeakingInsideTheBoxIsAHitWithAllItsMassInside()
    {
        var (hit, mass) = PointingGame.Score(Peak(60, 60), 100, 100, Box);

        Assert.True(hit);
        Assert.Equal(1.0, mass, 9);
    }

    [Theory]
    [InlineData(47, 60, true)]   // 3% left of the box: inside the 5% margin
    [InlineData(44, 60, false)]  // 6% left of it
    [InlineData(60, 84, true)]
    [InlineData(60, 86, false)]
    public void APeakJustOutsideTheBoxCountsOnlyWithinTheMargin(int x, int y, bool expected)
    {
        Assert.Equal(expected, PointingGame.Score(Peak(x, y), 100, 100, Box).Hit);
    }

    [Fact]
    public void TheMassInsideIsTheBoxsShareOfTheMapsSum()
    {
        // A uniform map: the box covers 20% x 30% of the image.
        var (_, mass) = PointingGame.Score(Enumerable.Repeat(1f, 100 * 100).ToArray(), 100, 100, Box);

        Assert.Equal(0.06, mass, 9);
    }

    [Fact]
    public void AFlatZeroMapPointsNowhere()
    {
        var (hit, mass) = PointingGame.Score(new float[100 * 100], 100, 100, Box);

        Assert.False(hit);
        Assert.Equal(0, mass);
    }

    [Fact]
    public void TheBoxFileIsReadWithQuotedNamesAndRowsWithoutALesionLeftOut()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path,
            [
                "split,file,sha256,label,plane,x0,y0,x1,y1,boxed_by,boxed_at,note",
                "Training,\"glioma_tumor/gg (1).jpg\",ab,glioma_tumor,axial,0.10,0.20,0.30,0.40,someone,2026-12-05,\"rim, enhancing\"",
                "Testing-dev,pituitary_tumor/image(3).jpg,cd,pituitary_tumor,sagittal,,,,,someone,2026-12-05,no visible lesion",
            ]);

            var box = Assert.Single(PointingGame.Read(path));

            Assert.Equal(new LesionBox("glioma_tumor/gg (1).jpg", "ab", "glioma_tumor", "axial", 0.10, 0.20, 0.30, 0.40), box);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ABoxOutsideTheImageIsRefused()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["file,sha256,label,plane,x0,y0,x1,y1", "a.jpg,ab,glioma_tumor,axial,0.5,0.2,0.4,0.4"]);

            Assert.Contains("x0 < x1", Assert.Throws<FormatException>(() => PointingGame.Read(path)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
