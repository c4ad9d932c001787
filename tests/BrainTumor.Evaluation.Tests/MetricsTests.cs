namespace BrainTumor.Evaluation.Tests;

/// <summary>Each expected value below is worked out by hand in the comment beside it.</summary>
public class MetricsTests
{
    private static readonly string[] Abc = ["a", "b", "c"];

    [Fact]
    public void ConfusionMatrixAndPerClassScoresMatchAWorkedExample()
    {
        // truth 0 0 1 1 2 2, predicted 0 1 1 1 2 0
        var metrics = ClassificationMetrics.Compute([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], Abc);

        Assert.Equal([[1, 1, 0], [0, 2, 0], [1, 0, 1]], metrics.ConfusionMatrix);
        Assert.Equal(4.0 / 6, metrics.Accuracy, 12);
        // precision a = 1/2, b = 2/3, c = 1/1; recall a = 1/2, b = 1, c = 1/2
        Assert.Equal([0.5, 2.0 / 3, 1.0], metrics.PerClass.Select(c => c.Precision), new Tolerance(1e-12));
        Assert.Equal([0.5, 1.0, 0.5], metrics.PerClass.Select(c => c.Recall), new Tolerance(1e-12));
        // F1 a = 0.5, b = 2 * (2/3) / (5/3) = 0.8, c = 2 * 0.5 / 1.5 = 2/3
        Assert.Equal([0.5, 0.8, 2.0 / 3], metrics.PerClass.Select(c => c.F1), new Tolerance(1e-12));
        Assert.Equal((0.5 + 0.8 + 2.0 / 3) / 3, metrics.MacroF1, 12);
    }

    [Fact]
    public void TumourSensitivityCountsEveryTumourNotCalledNoTumour()
    {
        string[] labels = ["glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor"];
        // tumours: 0 0 1 3 3 (5); called no_tumor: the second 0 and the second 3 (2); a glioma called meningioma still counts as found
        var metrics = ClassificationMetrics.Compute([0, 0, 1, 3, 3, 2, 2], [1, 2, 1, 3, 2, 2, 0], labels);

        Assert.Equal(2, metrics.TumoursMissed);
        Assert.Equal(3.0 / 5, metrics.TumourSensitivity!.Value, 12);
    }

    [Fact]
    public void TumourSensitivityIsAbsentWithoutANoTumourClass()
    {
        var metrics = ClassificationMetrics.Compute([0, 1], [0, 1], Abc);

        Assert.Null(metrics.TumourSensitivity);
        Assert.Null(metrics.TumoursMissed);
    }

    [Fact]
    public void MulticlassMccMatchesGorodkinsFormula()
    {
        // correct 4 of 6; true counts 2 2 2; predicted counts 2 3 1:
        // (4*6 - (4+6+2)) / sqrt((36 - 12) * (36 - 14)) = 12 / sqrt(528)
        var confusion = ClassificationMetrics.Compute([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], Abc).ConfusionMatrix;

        Assert.Equal(12 / Math.Sqrt(528), ProbabilisticMetrics.MatthewsCorrelation(confusion), 12);
    }

    [Fact]
    public void TwoClassMccIsTheClassicFormula()
    {
        // TN 5, FP 1, FN 1, TP 3: (3*5 - 1*1) / sqrt(4*4*6*6) = 14/24
        Assert.Equal(14.0 / 24, ProbabilisticMetrics.MatthewsCorrelation([[5, 1], [1, 3]]), 12);
    }

    [Fact]
    public void AucIsTheShareOfCorrectlyOrderedPairs()
    {
        // positives 0.35, 0.8; negatives 0.1, 0.4: pairs won 0.35>0.1, 0.8>0.1, 0.8>0.4 = 3 of 4
        Assert.Equal(0.75, ProbabilisticMetrics.RocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 12);
        // a tie counts one half: (0.5 vs 0.5) 0.5 + 1 + 1 + 1 = 3.5 of 4
        Assert.Equal(0.875, ProbabilisticMetrics.RocAuc([0.5, 0.5, 0.2, 0.9], [true, false, false, true]), 12);
        Assert.True(double.IsNaN(ProbabilisticMetrics.RocAuc([0.1, 0.2], [true, true])));
    }

    [Fact]
    public void RocCurveStepsThroughEveryDistinctScore()
    {
        var curve = ProbabilisticMetrics.RocCurve([0.1, 0.4, 0.35, 0.8], [false, false, true, true]);

        Assert.Equal([new RocPoint(0, 0), new(0, 0.5), new(0.5, 0.5), new(0.5, 1), new(1, 1)], curve);
    }

    [Fact]
    public void LogLossAndCalibrationErrorMatchAWorkedExample()
    {
        // log-loss: -(ln 0.8 + ln 0.7) / 2
        float[][] two = [[0.8f, 0.2f], [0.3f, 0.7f]];
        Assert.Equal(-(Math.Log(0.8) + Math.Log(0.7)) / 2, ProbabilisticMetrics.MeanLogLoss(two, [0, 1]), 6);

        // confidences 0.9 (right), 0.9 (wrong), 0.6 (right), 0.6 (right):
        // bin of 0.9: accuracy 0.5, gap 0.4 for 2; bin of 0.6: accuracy 1, gap 0.4 for 2 => ECE 0.4
        float[][] four = [[0.9f, 0.1f], [0.9f, 0.1f], [0.6f, 0.4f], [0.4f, 0.6f]];
        var metrics = ProbabilisticMetrics.Compute(four, [0, 1, 0, 1], ["x", "y"]);
        Assert.Equal(0.4, metrics.ExpectedCalibrationError, 6);
        Assert.Equal(4, metrics.Reliability.Sum(b => b.Count));
        Assert.Equal(15, metrics.Reliability.Count);
    }

    [Fact]
    public void MacroAucAveragesTheOneVersusRestAucs()
    {
        float[][] probabilities = [[0.7f, 0.2f, 0.1f], [0.2f, 0.5f, 0.3f], [0.1f, 0.3f, 0.6f], [0.4f, 0.4f, 0.2f]];

        var metrics = ProbabilisticMetrics.Compute(probabilities, [0, 1, 2, 1], Abc);

        // a: positive 0.7 vs negatives 0.2, 0.1, 0.4 -> 1; b: positives 0.5, 0.4 vs 0.2, 0.3 -> 1;
        // c: positive 0.6 vs 0.1, 0.3, 0.2 -> 1
        Assert.Equal([1.0, 1.0, 1.0], metrics.ClassAuc);
        Assert.Equal(1.0, metrics.MacroAuc);
        Assert.Equal(0.75, metrics.Classification.Accuracy);
    }

    [Fact]
    public void SummaryGivesTheStudentTConfidenceInterval()
    {
        // mean 0.8, sample std 0.1, half-width t(0.975, 2) * 0.1 / sqrt(3) = 4.303 * 0.0577350
        var summary = Summary.Of([0.7, 0.8, 0.9]);

        Assert.Equal(0.8, summary.Mean, 12);
        Assert.Equal(0.1, summary.Std, 12);
        Assert.Equal(0.8 - 4.303 * 0.1 / Math.Sqrt(3), summary.Lower, 9);
        Assert.Equal(0.8 + 4.303 * 0.1 / Math.Sqrt(3), summary.Upper, 9);
    }

    [Fact]
    public void ConfidenceIntervalStaysInsideTheMetricsRange()
    {
        // Two folds give t(0.975, 1) = 12.706: unclipped, this interval would be [0.716, 1.175].
        var summary = Summary.Of([0.927, 0.963], 0, 1);

        Assert.Equal(0.945, summary.Mean, 12);
        Assert.Equal(0.945 - 12.706 * summary.Std / Math.Sqrt(2), summary.Lower, 9);
        Assert.Equal(1.0, summary.Upper);
    }

    [Fact]
    public void MismatchedInputsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute([0, 1], [0], Abc));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassificationMetrics.Compute([0, 5], [0, 1], Abc));
        Assert.Throws<ArgumentException>(() => ProbabilisticMetrics.Compute([[0.5f, 0.5f]], [0], Abc));
    }

    private sealed class Tolerance(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double value) => 0;
    }
}

public class CalibrationTests
{
    [Fact]
    public void TemperatureOneLeavesProbabilitiesAlone()
    {
        float[][] probabilities = [[0.7f, 0.2f, 0.1f]];

        var same = Calibration.Apply(probabilities, 1.0);

        Assert.Equal(probabilities[0], same[0], new FloatTolerance(1e-6f));
    }

    [Fact]
    public void AnOverconfidentModelGetsATemperatureAboveOneAndALowerLogLoss()
    {
        // Always 95% sure, right only 60% of the time.
        var probabilities = Enumerable.Range(0, 100).Select(i => i % 5 < 3 ? new[] { 0.95f, 0.05f } : new[] { 0.05f, 0.95f }).ToList();
        var truth = Enumerable.Repeat(0, 100).ToList();

        double temperature = Calibration.FitTemperature(probabilities, truth);
        var calibrated = Calibration.Apply(probabilities, temperature);

        Assert.True(temperature > 1, $"T = {temperature}");
        // The best constant confidence is the accuracy: 0.95^(1/T) / (0.95^(1/T) + 0.05^(1/T)) = 0.6
        Assert.Equal(0.6, calibrated[0][0], 3);
        Assert.True(ProbabilisticMetrics.MeanLogLoss(calibrated, truth) < ProbabilisticMetrics.MeanLogLoss(probabilities, truth));
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float value) => 0;
    }
}

public sealed class CrossValidationReportTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("braintumor-cvreport-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>Two folds of four images: 3 of 4 right, then 4 of 4 right, so accuracy 0.875 ± 0.177.</summary>
    private static CrossValidationReport TwoFolds(string architecture)
    {
        string[] labels = ["a", "b"];
        var folds = new[]
        {
            new FoldData(1, 10, 2, 1, 1, "max-epochs", 1, 1, [new EpochPoint(1, 1, 0.5, 1, 0.5)], [0, 0, 1, 1],
                [[0.9f, 0.1f], [0.8f, 0.2f], [0.3f, 0.7f], [0.6f, 0.4f]]),
            new FoldData(2, 10, 2, 1, 1, "max-epochs", 1, 1, [new EpochPoint(1, 1, 0.5, 1, 0.5)], [0, 0, 1, 1],
                [[0.9f, 0.1f], [0.7f, 0.3f], [0.2f, 0.8f], [0.4f, 0.6f]]),
        };
        var setup = new CrossValidationSetup(architecture, 42, 32, 2, 7, 1, 1, 16, "Adam", 0.001, 0.12, "none", "data", 8, 8, "test");
        return new CrossValidationReport(setup, labels, folds);
    }

    [Theory]
    [InlineData("tiny", "paper Table 1 baseline | paper Table 2 custom CNN", "0.778 ± 0.034 | 0.739 ± 0.039")]
    [InlineData("paper-cnn-small", "paper Table 1 CNN-Small | paper Table 1 baseline", "0.728 ± 0.028 | 0.778 ± 0.034")]
    [InlineData("paper-cnn-deeper", "paper Table 1 CNN-Deeper | paper Table 1 baseline", "0.748 ± 0.030 | 0.778 ± 0.034")]
    [InlineData("resnet50", "paper Table 2 ResNet50 (ImageNet) | paper Table 2 custom CNN", "0.835 ± 0.017 | 0.739 ± 0.039")]
    [InlineData("densenet121", "paper Table 2 DenseNet121 (ImageNet) | paper Table 2 custom CNN", "0.809 ± 0.015 | 0.739 ± 0.039")]
    [InlineData("mobilenetv2", "paper Table 2 MobileNetV2 (ImageNet) | paper Table 2 custom CNN", "0.808 ± 0.018 | 0.739 ± 0.039")]
    [InlineData("efficientnetb0", "paper Table 2 EfficientNetB0 (ImageNet) | paper Table 2 custom CNN", "0.800 ± 0.023 | 0.739 ± 0.039")]
    public void ARunStandsBesideItsCounterpartInThePaper(string architecture, string headings, string paperAccuracies)
    {
        string markdown = TwoFolds(architecture).Markdown();

        Assert.Contains($"| metric | ours | 95% CI | per fold | {headings} |", markdown);
        Assert.Contains($"| accuracy | 0.875 ± 0.177 | [0.000, 1.000] | 0.750, 1.000 | {paperAccuracies} |", markdown);
        Assert.Contains("| MCC |", markdown);
        Assert.EndsWith("| - | - |", markdown.Split('\n').Single(line => line.StartsWith("| MCC |")));
    }

    /// <summary>
    /// Two runs of the same folds: the second gets fold 1's last image right where the first did not, and nothing else
    /// differs, so one image only the second got right, none only the first.
    /// </summary>
    [Fact]
    public void TwoRunsArePairedOnTheTestImagesOfTheFoldsBothFinished()
    {
        string other = Directory.CreateTempSubdirectory("braintumor-cvreport-other-").FullName;
        try
        {
            var first = TwoFolds("tiny");
            var better = first.Folds[0] with { Probabilities = [[0.9f, 0.1f], [0.8f, 0.2f], [0.3f, 0.7f], [0.4f, 0.6f]] };
            WriteFold(folder, first.Folds[0]);
            WriteFold(folder, first.Folds[1]);
            WriteFold(other, better);

            var paired = PairedComparison.Of(folder, other)!;

            Assert.Equal((1, 4, 0, 1), (paired.Folds, paired.Images, paired.OnlyFirstRight, paired.OnlySecondRight));
            Assert.Equal(0.25, paired.AccuracyDifference, 12);
            Assert.Equal(1.0, paired.PValue, 12);
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    private static void WriteFold(string folder, FoldData fold) =>
        File.WriteAllText(Path.Combine(folder, $"fold-{fold.Fold}.json"),
            System.Text.Json.JsonSerializer.Serialize(fold, BrainTumor.Models.ModelManifest.JsonOptions));

    [Fact]
    public void FoldsAreSummarisedAndComparedBesideThePaper()
    {
        var report = TwoFolds("tiny");

        report.Save(folder);
        string table = CrossValidationComparison.Markdown([folder], "Table");

        Assert.Equal(0.875, report.Summaries()["accuracy"].Mean, 12);
        Assert.Equal(Math.Sqrt(2 * 0.125 * 0.125), report.Summaries()["accuracy"].Std, 12);
        Assert.Contains("| ours: tiny | 32x32 | 42 | 2 | 0.875 ± 0.177 |", table);
        Assert.Contains("| paper: Custom CNN (Baseline) |", table);
        string comparisonOnly = CrossValidationComparison.Markdown([folder], "Table 2", PaperTable.Comparison);
        Assert.Contains("| paper: ResNet50 (ImageNet) |", comparisonOnly);
        Assert.DoesNotContain("CNN-Small", comparisonOnly);
        Assert.True(File.Exists(Path.Combine(folder, "learning-curves-loss.png")));

        string tableFolder = Path.Combine(folder, "table-1");
        CrossValidationComparison.Save([folder], "Table 1", PaperTable.Ablation, tableFolder);
        string saved = File.ReadAllText(Path.Combine(tableFolder, "report.md"));
        Assert.Contains("| ours: [tiny](../report.md) | 32x32 |", saved);
        Assert.Contains($"]({CrossValidationComparison.ChartFile})", saved);
        Assert.DoesNotContain("ResNet50", saved);
        byte[] chart = File.ReadAllBytes(Path.Combine(tableFolder, CrossValidationComparison.ChartFile));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], chart.Take(4));
    }
}

public sealed class RankCorrelationTests
{
    [Fact]
    public void IdenticalOrdersCorrelateOneAndReversedOrdersMinusOne()
    {
        float[] map = [0.1f, 0.5f, 0.2f, 0.9f, 0.3f];

        Assert.Equal(1.0, RankCorrelation.Spearman(map, map.Select(v => v * 3 + 1).ToArray()), 12);
        Assert.Equal(-1.0, RankCorrelation.Spearman(map, map.Select(v => -v).ToArray()), 12);
    }

    [Fact]
    public void TiesShareTheirAverageRank()
    {
        // Ranks 1.5, 1.5, 3, 4 against 1, 2, 3, 4: Pearson of those is 0.9487 (sqrt(0.9)).
        Assert.Equal(Math.Sqrt(0.9), RankCorrelation.Spearman([0f, 0f, 1f, 2f], [1f, 2f, 3f, 4f]), 10);
    }

    [Fact]
    public void AConstantMapCorrelatesWithNothing()
    {
        Assert.Equal(0, RankCorrelation.Spearman([0f, 0f, 0f], [1f, 2f, 3f]));
    }
}
