using BrainTumor.Models;

namespace BrainTumor.Evaluation;

/// <summary>Metrics as a package's <c>model.json</c> records them: rounded to 4 decimals.</summary>
public static class ManifestScores
{
    public static IReadOnlyList<ClassScores> PerClass(ClassificationMetrics metrics) =>
        metrics.PerClass.Select(c => new ClassScores(c.Label, Math.Round(c.Precision, 4), Math.Round(c.Recall, 4), Math.Round(c.F1, 4),
            c.Support)).ToList();

    public static ValidationMetrics Validation(ClassificationMetrics metrics, double loss, string measuredWith) =>
        new(metrics.Count, Math.Round(metrics.Accuracy, 4), Math.Round(metrics.MacroF1, 4), Math.Round(loss, 4), PerClass(metrics),
            metrics.ConfusionMatrix, measuredWith);
}
