namespace BrainTumor.Evaluation.Tests;

public sealed class WilsonIntervalTests
{
    [Theory]
    // None of 10 and all of 10: the textbook [0, 0.2775] and its mirror; the interval never leaves 0-1.
    [InlineData(0, 10, 0.0, 0.2775)]
    [InlineData(10, 10, 0.7225, 1.0)]
    // An accuracy of 0.738 on 126 images spans about ±0.08, asymmetric towards 0.5.
    [InlineData(93, 126, 0.6551, 0.8070)]
    public void TheIntervalMatchesTheWilsonScoreFormula(int successes, int trials, double low, double high)
    {
        var (lower, upper) = WilsonInterval.Of(successes, trials);

        Assert.Equal(low, lower, 4);
        Assert.Equal(high, upper, 4);
    }

    [Fact]
    public void AnImpossibleProportionIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => WilsonInterval.Of(5, 4));

    [Fact]
    public void TheSummaryGivesAccuracySensitivityAndRecallsWithTheirCounts()
    {
        string[] labels = ["glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor"];
        // Two gliomas (one called no tumour), one meningioma, one no tumour, no pituitary.
        var metrics = ClassificationMetrics.Compute([0, 0, 1, 2], [0, 2, 1, 2], labels);

        string summary = WilsonInterval.Summary(metrics);

        Assert.Contains("accuracy 0.750 [", summary);
        Assert.Contains("(3 of 4)", summary);
        Assert.Contains("tumour sensitivity 0.667 [", summary);
        Assert.Contains("glioma_tumor recall 0.500 [", summary);
        Assert.DoesNotContain("pituitary_tumor recall", summary);
    }
}

public sealed class PairedComparisonTests
{
    [Theory]
    // No discordant images: no evidence either way.
    [InlineData(0, 0, 1.0)]
    // 17 against 6: 2 x P(X <= 6), X ~ Binomial(23, 1/2) = 0.0347.
    [InlineData(17, 6, 0.0347)]
    [InlineData(6, 17, 0.0347)]
    // 10 against 7: 2 x P(X <= 7), X ~ Binomial(17, 1/2) = 0.6291.
    [InlineData(10, 7, 0.6291)]
    public void TheExactMcNemarTestIsTheTwoSidedBinomialTailOfTheDiscordantImages(int onlyFirst, int onlySecond, double p) =>
        Assert.Equal(p, PairedComparison.McNemarExact(onlyFirst, onlySecond), 4);

    [Fact]
    public void LargeCountsDoNotOverflow() =>
        Assert.InRange(PairedComparison.McNemarExact(2000, 2100), 0.1, 0.2);
}
