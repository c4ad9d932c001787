
namespace BrainTumor.Imaging.Tests;

public sealed class GreyHistogramTests
{
    [Fact]
    public void OtsuSplitsTwoLevelsBetweenThem()
    {
        byte[] gray = [.. Enumerable.Repeat((byte)10, 50), .. Enumerable.Repeat((byte)200, 50)];

        Assert.InRange(GreyHistogram.OtsuThreshold(GreyHistogram.Of(gray))!.Value, 10, 199);
        Assert.Null(GreyHistogram.OtsuThreshold(GreyHistogram.Of(new byte[20])));
    }
}
