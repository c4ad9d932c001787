using System.Text.Json;
using BrainTumor.Data;
using BrainTumor.Inference;
using BrainTumor.Models;

namespace BrainTumor.Evaluation;

/// <summary>
/// Measures an ensemble, the mean of its members' calibrated probabilities: its package on the members' shared hold-out, and its
/// recipe by cross-validation from the members' own cv runs (the same folds, so each fold's ensemble is its members trained on
/// that fold's training part).
/// </summary>
public static class Ensembles
{
    /// <summary>The architecture an ensemble's package and its cross-validation record.</summary>
    public const string Architecture = "ensemble";

    /// <param name="heldOut">The members' shared held-out split, indices into <paramref name="dataset"/>.</param>
    public static ValidationMetrics HoldOutMetrics(ClassifierModel model, ImageFolderDataset dataset, IReadOnlyList<int> heldOut,
        ProgressStart progress)
    {
        var done = progress(heldOut.Count, "hold-out");
        var probabilities = heldOut.Select((index, n) =>
        {
            done(n + 1);
            return model.Predict(dataset.Samples[index].Image, withGradCam: false).Probabilities;
        }).ToArray();
        int[] truth = heldOut.Select(i => dataset.Samples[i].Label).ToArray();
        var predicted = probabilities.Select(ClassProbabilities.ArgMax).ToArray();
        var metrics = ClassificationMetrics.Compute(truth, predicted, model.Manifest.Labels);
        return ManifestScores.Validation(metrics, ProbabilisticMetrics.MeanLogLoss(probabilities, truth),
            "ONNX Runtime on model.onnx, the members' held-out validation split");
    }

    /// <summary>
    /// Writes the cross-validation of the ensemble recipe to <paramref name="outputFolder"/>: for every fold that each member
    /// run has finished, the mean of the members' temperature-calibrated test probabilities (temperature 1 after that, as
    /// the package has no temperature of its own).
    /// </summary>
    public static CrossValidationReport CrossValidate(IReadOnlyList<string> memberReports, string outputFolder)
    {
        var runs = memberReports.Select(folder => (Folder: folder, Saved: CrossValidationReport.Read(folder)
            ?? throw new EvaluationException($"'{Path.Combine(folder, "report.json")}' does not exist; run cv first."))).ToList();
        var setup = runs[0].Saved.Setup;
        foreach (var (folder, saved) in runs)
        {
            var other = saved.Setup;
            if (other.Folds != setup.Folds || other.Seed != setup.Seed || other.Images != setup.Images ||
                other.ImageSize != setup.ImageSize || other.Preprocessing != setup.Preprocessing ||
                other.InnerValidationFraction != setup.InnerValidationFraction || other.Optimizer != setup.Optimizer ||
                other.LearningRate != setup.LearningRate || other.BatchSize != setup.BatchSize || other.MaxEpochs != setup.MaxEpochs ||
                other.Patience != setup.Patience)
            {
                throw new EvaluationException(
                    $"'{folder}' made its folds or trained another way than '{runs[0].Folder}'; their folds cannot be averaged.");
            }
        }
        var labels = runs[0].Saved.Labels
            ?? throw new EvaluationException($"'{runs[0].Folder}' records no labels; rerun its cv command to rewrite report.json.");
        Directory.CreateDirectory(outputFolder);
        var folds = new List<FoldData>();
        for (int fold = 1; fold <= setup.Folds; fold++)
        {
            var parts = memberReports.Select(folder => Path.Combine(folder, $"fold-{fold}.json")).ToList();
            if (!parts.All(File.Exists))
            {
                continue;
            }
            var data = parts.Select(file => JsonSerializer.Deserialize<FoldData>(File.ReadAllText(file), ModelManifest.JsonOptions)!)
                .ToList();
            if (data.Any(d => !d.Truth.SequenceEqual(data[0].Truth)))
            {
                throw new EvaluationException($"The members' fold {fold} test images differ; their runs did not use the same folds.");
            }
            var calibrated = data.Select(d => Calibration.Apply(d.Probabilities, d.Temperature)).ToList();
            float[][] mean = Enumerable.Range(0, data[0].Truth.Length)
                .Select(i => Enumerable.Range(0, labels.Count).Select(c => calibrated.Average(p => p[i][c])).ToArray()).ToArray();
            folds.Add(new FoldData(fold, data[0].TrainImages, data[0].ValidationImages, data.Max(d => d.BestEpoch),
                data.Sum(d => d.EpochsRun), string.Join(" + ", data.Select(d => d.StoppedBy)), data.Sum(d => d.TrainingSeconds), 1.0, [],
                data[0].Truth, mean));
            File.WriteAllText(Path.Combine(outputFolder, $"fold-{fold}.json"),
                JsonSerializer.Serialize(folds[^1], ModelManifest.JsonOptions));
        }
        var ensembleSetup = setup with
        {
            Architecture = Architecture,
            Parameters = runs.Sum(r => r.Saved.Setup.Parameters),
            Augmentation = EnsembleMember.Recipe(runs.Select(r => (r.Saved.Setup.Architecture, r.Saved.Setup.Augmentation))),
        };
        var report = new CrossValidationReport(ensembleSetup, labels, folds);
        report.Save(outputFolder);
        return report;
    }
}
