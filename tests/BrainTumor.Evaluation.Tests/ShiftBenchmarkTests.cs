namespace BrainTumor.Evaluation.Tests;

public sealed class ShiftBenchmarkTests
{
    [Fact]
    public void TheShiftSummaryAveragesOnlyTheCorruptionsAndNamesTheWorst()
    {
        ShiftScore[] scores =
        [
            new("none", "-", "m 1", 0.95, 0.95, 1),
            new("blur", "sigma 3 px", "m 1", 0.80, 0.8, 1),
            new("noise", "sigma 16", "m 1", 0.90, 0.9, 1),
        ];

        var summary = ShiftBenchmark.Summarise(scores, "reports/shift", 344);

        Assert.Equal(0.95, summary.Clean);
        Assert.Equal(0.85, summary.MeanAccuracy, 10);
        Assert.Equal("blur sigma 3 px", summary.Worst);
        Assert.Equal(0.80, summary.WorstAccuracy);
        Assert.Equal(344, summary.Images);
    }
}
