using System.Text.Json;
using BrainTumor.Models;

namespace BrainTumor.Evaluation;

/// <summary>Fits the sensitive operating point on a cv run's held-out folds; never on external data.</summary>
public static class OperatingPointFit
{
    public static NoTumorOperatingPoint Fit(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> truth, IReadOnlyList<string> labels,
        double targetSensitivity, string fittedOn)
    {
        int noTumor = labels.ToList().IndexOf(ClassificationMetrics.NoTumorLabel);
        if (noTumor < 0)
        {
            throw new ArgumentException($"The labels have no '{ClassificationMetrics.NoTumorLabel}'.", nameof(labels));
        }
        OperatingPointScores At(double minimum)
        {
            var metrics = ClassificationMetrics.Compute(
                truth, probabilities.Select(p => ClassProbabilities.Decide(p, noTumor, minimum)).ToArray(), labels);
            return new OperatingPointScores(Math.Round(metrics.TumourSensitivity ?? double.NaN, 4),
                Math.Round(metrics.PerClass[noTumor].Recall, 4), Math.Round(metrics.Accuracy, 4));
        }
        // The smallest minimum that reaches the target, on a grid of 0.001: the least change from the argmax that does.
        double chosen = Enumerable.Range(0, 1000).Select(i => i / 1000.0)
            .FirstOrDefault(minimum => At(minimum).TumourSensitivity >= targetSensitivity, 0.999);
        return new NoTumorOperatingPoint(chosen, targetSensitivity, fittedOn, At(0), At(chosen));
    }

    /// <summary>The held-out folds of a cv run (fold-N.json), with each fold's probabilities temperature-calibrated as the shipped
    /// package's are.</summary>
    public static (List<float[]> Probabilities, List<int> Truth, int Folds) HeldOut(string reportFolder)
    {
        var probabilities = new List<float[]>();
        var truth = new List<int>();
        var files = Directory.EnumerateFiles(reportFolder, "fold-*.json").Order(StringComparer.Ordinal).ToList();
        foreach (string file in files)
        {
            // Written by the cv command with the manifest's options (BrainTumor.Training.CrossValidation).
            var fold = JsonSerializer.Deserialize<FoldData>(File.ReadAllText(file), ModelManifest.JsonOptions)
                ?? throw new InvalidDataException($"{file} is empty.");
            probabilities.AddRange(Calibration.Apply(fold.Probabilities, fold.Temperature));
            truth.AddRange(fold.Truth);
        }
        return (probabilities, truth, files.Count);
    }
}
