using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BrainTumor.Evaluation;

/// <summary>
/// The evaluation of one model on one labelled folder: <c>report.md</c> (with the paper's numbers beside
/// ours), <c>report.json</c>, and PNG plots (confusion matrix, ROC curves, reliability diagram).
/// </summary>
public sealed record EvaluationReport(
    string Model, string ModelVersion, string Architecture, string Data, DateTimeOffset EvaluatedAt, string Machine,
    IReadOnlyList<string> Labels, ProbabilisticMetrics Metrics, IReadOnlyList<string> Notes, GradCamDeletion? GradCamDeletion = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public void Save(string folder, IReadOnlyList<float[]> probabilities, IReadOnlyList<int> truth)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(this, Json));
        File.WriteAllText(Path.Combine(folder, "report.md"), Markdown());
        Plots.SaveStandard(folder, Model, probabilities, truth, Labels, Metrics);
    }

    public string Markdown()
    {
        var c = Metrics.Classification;
        var text = new StringBuilder();
        text.AppendLine($"# Evaluation of `{Model}` {ModelVersion}");
        text.AppendLine();
        text.AppendLine($"- architecture: {Architecture}");
        text.AppendLine($"- data: `{Data}`, {c.Count} images");
        text.AppendLine($"- evaluated {EvaluatedAt:yyyy-MM-dd HH:mm} UTC on {Machine}, with ONNX Runtime on the shipped `model.onnx`");
        foreach (var note in Notes)
        {
            text.AppendLine($"- **note:** {note}");
        }
        text.AppendLine();
        text.AppendLine("## Overall");
        text.AppendLine();
        text.AppendLine("| metric | this model | paper: custom CNN, 5-fold CV (Table 2) |");
        text.AppendLine("|---|---|---|");
        var paper = PaperResults.Table2Comparison.Single(r => r.Model == "Custom CNN");
        text.AppendLine(F($"| accuracy | {c.Accuracy:F3} | {paper.Accuracy} |"));
        text.AppendLine(F($"| macro-F1 | {c.MacroF1:F3} | {paper.MacroF1} |"));
        if (c.TumourSensitivity is double sensitivity)
        {
            text.AppendLine(F($"| tumour sensitivity (tumours not called {ClassificationMetrics.NoTumorLabel}) | ") +
                F($"{sensitivity:F3} ({c.TumoursMissed} missed) | not reported |"));
        }
        text.AppendLine(F($"| macro-AUC (one-vs-rest) | {Metrics.MacroAuc:F3} | {paper.MacroAuc} |"));
        text.AppendLine(F($"| MCC | {Metrics.Mcc:F3} | not reported for CV ({PaperResults.SingleSplit}) |"));
        text.AppendLine(F($"| log-loss | {Metrics.LogLoss:F3} | not reported |"));
        text.AppendLine(
            F($"| ECE (15 bins) | {Metrics.ExpectedCalibrationError:F3} | not reported (their confidences are uncalibrated) |"));
        text.AppendLine();
        text.AppendLine("## Per class");
        text.AppendLine();
        text.AppendLine("| class | precision | recall | F1 | AUC | support | paper precision | paper recall | paper F1 |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|");
        for (int i = 0; i < Labels.Count; i++)
        {
            var m = c.PerClass[i];
            var p = PaperResults.Table3PerClass.FirstOrDefault(r => r.Label == Labels[i]);
            text.AppendLine(F($"| {Labels[i]} | {m.Precision:F3} | {m.Recall:F3} | {m.F1:F3} | {Metrics.ClassAuc[i]:F3} | ") +
                F($"{m.Support} | {p?.TableCells ?? "- | - | -"} |"));
        }
        text.AppendLine();
        text.AppendLine("## Confusion matrix (rows: true class, columns: predicted)");
        text.AppendLine();
        text.AppendLine($"| | {string.Join(" | ", Labels)} |");
        text.AppendLine($"|---|{string.Concat(Labels.Select(_ => "---|"))}");
        for (int t = 0; t < Labels.Count; t++)
        {
            text.AppendLine($"| **{Labels[t]}** | {string.Join(" | ", c.ConfusionMatrix[t])} |");
        }
        text.AppendLine();
        text.AppendLine("![confusion matrix](confusion-matrix.png) ![ROC curves](roc-curves.png) ![reliability](reliability.png)");
        if (GradCamDeletion is { } d)
        {
            text.AppendLine();
            text.AppendLine("## Grad-CAM deletion check");
            text.AppendLine();
            text.AppendLine(F($"Blanking the {d.Fraction * 100:F0}% of each input where Grad-CAM is highest, ") +
                "against blanking as many pixels chosen by the same map with its cells shuffled; " +
                F($"{d.Images} images ({d.FlatMaps} left out for a flat map). ") +
                "Faithfulness to the model, not localisation of the lesion.");
            text.AppendLine();
            text.AppendLine("| | Grad-CAM area blanked | shuffled map's area blanked |");
            text.AppendLine("|---|---|---|");
            text.AppendLine(F($"| mean fall of the predicted class's probability (from {d.MeanConfidence:F3}) | ") +
                F($"{d.MeanDropGradCam:F3} | {d.MeanDropRandom:F3} |"));
            text.AppendLine(F($"| predicted class changes | {d.ChangedGradCam * 100:F1}% | {d.ChangedRandom * 100:F1}% |"));
            text.AppendLine(
                F($"| images where this arm's fall is the larger | {d.GradCamLarger * 100:F1}% | {(1 - d.GradCamLarger) * 100:F1}% |"));
        }
        return text.ToString();
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
