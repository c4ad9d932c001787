using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BrainTumor.Evaluation;

public sealed record EpochPoint(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss, double ValidationAccuracy);

/// <summary>One finished fold: how it trained, and its test predictions (the fold's held-out images).</summary>
public sealed record FoldData(
    int Fold, int TrainImages, int ValidationImages, int BestEpoch, int EpochsRun, string StoppedBy, double TrainingSeconds,
    double Temperature, IReadOnlyList<EpochPoint> History, int[] Truth, float[][] Probabilities);

public sealed record CrossValidationSetup(
    string Architecture, long Parameters, int ImageSize, int Folds, int Seed, int MaxEpochs, int Patience, int BatchSize,
    string Optimizer, double LearningRate, double InnerValidationFraction, string Augmentation, string Data, int Images, int UniqueImages,
    string Machine, string? Preprocessing = null)
{
    /// <summary>
    /// What differs from <paramref name="other"/> in how the folds are made and trained, as "name: this, other";
    /// where the data lives and which machine ran it may change between the sessions of one run.
    /// </summary>
    public IReadOnlyList<string> RecipeDifferences(CrossValidationSetup other) =>
        typeof(CrossValidationSetup).GetProperties()
            .Where(p => p.Name is not (nameof(Data) or nameof(Machine)))
            .Where(p => !Equals(p.GetValue(this), p.GetValue(other)))
            .Select(p => $"{p.Name}: {p.GetValue(this)}, now {p.GetValue(other)}")
            .ToList();
}

/// <summary>
/// Stratified k-fold cross-validation results in the paper's layout: mean ± std and 95% CI over folds of
/// accuracy, macro-F1, macro-AUC, MCC, log-loss and ECE (before and after temperature scaling), per-class
/// scores, the pooled confusion matrix, and plots.
/// </summary>
public sealed record CrossValidationReport(CrossValidationSetup Setup, IReadOnlyList<string> Labels, IReadOnlyList<FoldData> Folds)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public bool Complete => Folds.Count == Setup.Folds;

    public IReadOnlyList<ProbabilisticMetrics> FoldMetrics =>
        Folds.Select(f => ProbabilisticMetrics.Compute(f.Probabilities, f.Truth, Labels)).ToList();

    public IReadOnlyDictionary<string, Summary> Summaries()
    {
        var metrics = FoldMetrics;
        var calibrated = Folds
            .Select(f => ProbabilisticMetrics.Compute(Calibration.Apply(f.Probabilities, f.Temperature), f.Truth, Labels)).ToList();
        return new Dictionary<string, Summary>
        {
            ["accuracy"] = Summary.Of(metrics.Select(m => m.Classification.Accuracy).ToList(), 0, 1),
            ["macro-F1"] = Summary.Of(metrics.Select(m => m.Classification.MacroF1).ToList(), 0, 1),
            ["tumour sensitivity"] = Summary.Of(metrics.Select(m => m.Classification.TumourSensitivity ?? double.NaN).ToList(), 0, 1),
            ["macro-AUC"] = Summary.Of(metrics.Select(m => m.MacroAuc).ToList(), 0, 1),
            ["MCC"] = Summary.Of(metrics.Select(m => m.Mcc).ToList(), -1, 1),
            ["log-loss"] = Summary.Of(metrics.Select(m => m.LogLoss).ToList(), 0),
            ["ECE"] = Summary.Of(metrics.Select(m => m.ExpectedCalibrationError).ToList(), 0, 1),
            ["ECE after temperature scaling"] = Summary.Of(calibrated.Select(m => m.ExpectedCalibrationError).ToList(), 0, 1),
            ["temperature"] = Summary.Of(Folds.Select(f => f.Temperature).ToList(), 0),
        };
    }

    /// <summary>What a saved <c>report.json</c> says of the run as a whole.</summary>
    public sealed record Saved(
        CrossValidationSetup Setup, int FoldsDone, IReadOnlyDictionary<string, Summary> Summaries, IReadOnlyList<string>? Labels = null);

    /// <summary>The summary saved in <paramref name="folder"/>'s <c>report.json</c>, or null when there is none yet.</summary>
    public static Saved? Read(string folder)
    {
        string path = Path.Combine(folder, "report.json");
        return File.Exists(path) ? JsonSerializer.Deserialize<Saved>(File.ReadAllText(path), Json) : null;
    }

    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "report.md"), Markdown());
        var summaries = Summaries();
        File.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(new
        {
            Setup,
            Labels,
            FoldsDone = Folds.Count,
            Summaries = summaries,
            Folds = Folds.Zip(FoldMetrics, (f, m) => new
            {
                f.Fold, f.TrainImages, f.ValidationImages, f.BestEpoch, f.EpochsRun, f.StoppedBy, f.TrainingSeconds, f.Temperature,
                Metrics = m
            }),
        }, Json));

        var pooledTruth = Folds.SelectMany(f => f.Truth).ToList();
        var pooled = Folds.SelectMany(f => f.Probabilities).ToList();
        var pooledMetrics = ProbabilisticMetrics.Compute(pooled, pooledTruth, Labels);
        string name = Setup.Architecture;
        Plots.SaveStandard(folder, $"{name}, all test folds", pooled, pooledTruth, Labels, pooledMetrics);
        File.WriteAllBytes(Path.Combine(folder, "learning-curves-accuracy.png"), Plots.LearningCurves(
            Folds.SelectMany(f => new[]
            {
                ($"fold {f.Fold} train", f.History.Select(h => (double)h.Epoch).ToArray(),
                    f.History.Select(h => h.TrainAccuracy).ToArray()),
                ($"fold {f.Fold} validation", f.History.Select(h => (double)h.Epoch).ToArray(),
                    f.History.Select(h => h.ValidationAccuracy).ToArray()),
            }).ToList(), "accuracy", $"{name}: accuracy by epoch"));
        File.WriteAllBytes(Path.Combine(folder, "learning-curves-loss.png"), Plots.LearningCurves(
            Folds.SelectMany(f => new[]
            {
                ($"fold {f.Fold} train", f.History.Select(h => (double)h.Epoch).ToArray(), f.History.Select(h => h.TrainLoss).ToArray()),
                ($"fold {f.Fold} validation", f.History.Select(h => (double)h.Epoch).ToArray(),
                    f.History.Select(h => h.ValidationLoss).ToArray()),
            }).ToList(), "cross-entropy loss", $"{name}: loss by epoch"));
    }

    public string Markdown()
    {
        var s = Setup;
        var text = new StringBuilder();
        text.AppendLine($"# {s.Folds}-fold cross-validation of `{s.Architecture}`");
        text.AppendLine();
        if (!Complete)
        {
            text.AppendLine($"**Incomplete: {Folds.Count} of {s.Folds} folds finished.** Run the same `cv` command again to continue.");
            text.AppendLine();
        }
        text.AppendLine("## Set-up");
        text.AppendLine();
        text.AppendLine(
            $"- data: `{s.Data}`, {s.Images} images ({s.UniqueImages} unique by SHA-256); exact duplicates are kept in one fold");
        text.AppendLine(F($"- {s.Folds} folds stratified by class, seed {s.Seed}; ") +
            F($"inside each training part {s.InnerValidationFraction * 100:0}% (stratified, duplicate-aware) ") +
            "is held out for early stopping and temperature fitting");
        text.AppendLine(F($"- {s.Architecture}, {s.Parameters:N0} parameters, ") +
            F($"input {s.ImageSize}x{s.ImageSize}{(s.ImageSize != 224 ? " (**not** the paper's 224x224)" : "")}"));
        text.AppendLine(F($"- {s.Optimizer}, learning rate {s.LearningRate}, batch {s.BatchSize}, up to {s.MaxEpochs} epochs, ") +
            F($"early stopping after {s.Patience} epochs without a lower validation loss (best weights restored); ") +
            F($"augmentation: {s.Augmentation}"));
        text.AppendLine($"- input: {s.Preprocessing ?? "bilinear stretch of the whole image to the input size"}");
        // Folds of one run may be trained in different sessions, so only the latest one's machine is known.
        text.AppendLine(F($"- training time: {Folds.Sum(f => f.TrainingSeconds) / 3600:F2} h (per fold: ") +
            F($"{string.Join(", ", Folds.Select(f => (f.TrainingSeconds / 3600).ToString("F2", CultureInfo.InvariantCulture)))} h); ") +
            F($"latest session on {s.Machine}; epochs run per fold: {string.Join(", ", Folds.Select(f => f.EpochsRun))}"));
        text.AppendLine();
        if (Folds.Count == 0)
        {
            return text.ToString();
        }

        var summaries = Summaries();
        var paper = PaperResults.ReferencesFor(s.Architecture);
        text.AppendLine("## Results over test folds (mean ± std, 95% CI from Student's t)");
        text.AppendLine();
        text.AppendLine($"| metric | ours | 95% CI | per fold | {string.Join(" | ", paper.Select(p => p.Heading))} |");
        text.AppendLine($"|---|---|---|---|{string.Concat(paper.Select(_ => "---|"))}");
        var perFold = FoldMetrics;
        string Folded(Func<ProbabilisticMetrics, double> pick) =>
            string.Join(", ", perFold.Select(m => pick(m).ToString("F3", CultureInfo.InvariantCulture)));
        string Paper(Func<PaperResults.Row, PaperResults.Reported>? pick) =>
            string.Join(" | ", paper.Select(p => pick is null ? "-" : pick(p.Row).ToString()));
        text.AppendLine(Row("accuracy", summaries["accuracy"], Folded(m => m.Classification.Accuracy), Paper(r => r.Accuracy)));
        text.AppendLine(Row("macro-F1", summaries["macro-F1"], Folded(m => m.Classification.MacroF1), Paper(r => r.MacroF1)));
        text.AppendLine(Row("tumour sensitivity", summaries["tumour sensitivity"],
            Folded(m => m.Classification.TumourSensitivity ?? double.NaN), Paper(null)));
        text.AppendLine(Row("macro-AUC", summaries["macro-AUC"], Folded(m => m.MacroAuc), Paper(r => r.MacroAuc)));
        text.AppendLine(Row("MCC", summaries["MCC"], Folded(m => m.Mcc), Paper(null)));
        text.AppendLine(Row("log-loss", summaries["log-loss"], Folded(m => m.LogLoss), Paper(null)));
        text.AppendLine(Row("ECE (15 bins)", summaries["ECE"], Folded(m => m.ExpectedCalibrationError), Paper(null)));
        text.AppendLine(Row("ECE after temperature scaling", summaries["ECE after temperature scaling"], "", Paper(null)));
        text.AppendLine(Row("fitted temperature", summaries["temperature"],
            string.Join(", ", Folds.Select(f => f.Temperature.ToString("F3", CultureInfo.InvariantCulture))), Paper(null)));
        text.AppendLine();
        text.AppendLine("## Per class (mean ± std over folds)");
        text.AppendLine();
        text.AppendLine("| class | precision | recall | F1 | paper precision (custom CNN, Table 3) | paper recall | paper F1 |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        for (int c = 0; c < Labels.Count; c++)
        {
            var p = PaperResults.Table3PerClass.FirstOrDefault(r => r.Label == Labels[c]);
            text.AppendLine($"| {Labels[c]} | {Summary.Of(perFold.Select(m => m.Classification.PerClass[c].Precision).ToList())} | " +
                            $"{Summary.Of(perFold.Select(m => m.Classification.PerClass[c].Recall).ToList())} | " +
                            $"{Summary.Of(perFold.Select(m => m.Classification.PerClass[c].F1).ToList())} | " +
                            $"{p?.TableCells ?? "- | - | -"} |");
        }
        text.AppendLine();
        text.AppendLine("![confusion matrix](confusion-matrix.png) ![ROC](roc-curves.png) ![reliability](reliability.png)");
        text.AppendLine();
        text.AppendLine("![accuracy by epoch](learning-curves-accuracy.png) ![loss by epoch](learning-curves-loss.png)");
        return text.ToString();
    }

    private static string Row(string name, Summary summary, string folds, string paperCells) =>
        F($"| {name} | {summary} | {(double.IsNaN(summary.Lower) ? "-" : $"[{summary.Lower:F3}, {summary.Upper:F3}]")} | ") +
        F($"{folds} | {paperCells} |");

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
