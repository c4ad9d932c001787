using System.Diagnostics;
using System.Text.Json;
using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Models;
using BrainTumor.Training.Architectures;

namespace BrainTumor.Training;

/// <summary>
/// Duplicate-aware stratified k-fold cross-validation. Each finished fold is saved (<c>fold-N.json</c> in
/// the report folder) and each epoch is checkpointed, so the same command continues an interrupted run.
/// </summary>
/// <param name="foldLimit">Stop once this many folds are done (an ablation on the first folds); the same command without it
/// continues.</param>
public sealed class CrossValidation(
    TrainingOptions options, int folds, string reportFolder, ProgressReporter progress, int? foldLimit = null)
{
    /// <returns>The report so far; complete when every fold has finished.</returns>
    public CrossValidationReport Run(CancellationToken cancellation = default)
    {
        options.Validate();
        var trainer = new Trainer(options with { Resume = true }, progress);
        trainer.ConfigureRuntime();
        var clock = Stopwatch.StartNew();
        var dataset = Trainer.LoadDataset(options, trainer.ImageSize, progress);
        var samples = dataset.Samples.Select(s => (s.Label, s.Sha256)).ToList();
        int[] assignment = DuplicateAwareSplit.StratifiedKFold(samples, folds, options.Seed);
        Directory.CreateDirectory(reportFolder);
        var thisSession = Setup(dataset);
        var saved = CrossValidationReport.Read(reportFolder)?.Setup;
        if (saved?.RecipeDifferences(thisSession) is { Count: > 0 } differences)
        {
            throw new TrainingException($"'{reportFolder}' holds folds made another way ({string.Join("; ", differences)}); " +
                                        "give the same options to continue that run, or another --out for a new one.");
        }
        // The report names the machine that last trained a fold, so a run that only rewrites the report keeps it.
        var setup = saved is null ? thisSession : thisSession with { Machine = saved.Machine };
        var done = new List<FoldData>();

        for (int fold = 1; fold <= folds && (foldLimit is not int limit || done.Count < limit); fold++)
        {
            string foldFile = Path.Combine(reportFolder, $"fold-{fold}.json");
            if (File.Exists(foldFile))
            {
                done.Add(JsonSerializer.Deserialize<FoldData>(File.ReadAllText(foldFile), ModelManifest.JsonOptions)!);
                continue;
            }
            var outer = DuplicateAwareSplit.Fold(assignment, fold - 1);
            var trainPart = outer.Train;
            var inner = DuplicateAwareSplit.StratifiedHoldout(
                trainPart.Select(i => samples[i]).ToList(), options.ValidationFraction, options.Seed + fold);
            var split = new DuplicateAwareSplit.Split(
                inner.Train.Select(i => trainPart[i]).ToList(), inner.Validation.Select(i => trainPart[i]).ToList());
            progress.Line($"fold {fold}/{folds}: {split.Train.Count} training, {split.Validation.Count} validation, " +
                $"{outer.Validation.Count} test images");

            var result = trainer.Train(dataset, split, Path.Combine(options.ResolvedCheckpointDirectory, $"fold-{fold}"), clock,
                cancellation);
            if (result is null || result.State.StoppedBy == Trainer.StoppedByTimeBudget)
            {
                result?.Network.Dispose();
                progress.Line($"time budget reached in fold {fold}; run the same command again to continue");
                break;
            }
            using (result.Network)
            {
                var validation = Evaluator.Evaluate(result.Network, dataset, split.Validation, Trainer.InputNormalization);
                double temperature = Calibration.FitTemperature(validation.Probabilities, validation.Truth);
                var test = Evaluator.Evaluate(result.Network, dataset, outer.Validation, Trainer.InputNormalization);
                var data = new FoldData(fold, split.Train.Count, split.Validation.Count, result.State.BestEpoch,
                    result.State.EpochsCompleted, result.State.StoppedBy ?? Trainer.StoppedAtEpochLimit, result.State.TrainingSeconds,
                    temperature,
                    result.State.History.Select(h =>
                        new EpochPoint(h.Epoch, h.TrainLoss, h.TrainAccuracy, h.ValidationLoss, h.ValidationAccuracy)).ToList(),
                    test.Truth, test.Probabilities);
                File.WriteAllText(foldFile, JsonSerializer.Serialize(data, ModelManifest.JsonOptions));
                done.Add(data);
                setup = thisSession;
                progress.Line($"fold {fold}: test accuracy {test.Metrics.Accuracy:F4}, macro-F1 {test.Metrics.MacroF1:F4} " +
                    $"on {test.Truth.Length} images; temperature {temperature:F3}");
            }
            new CrossValidationReport(setup, dataset.Labels, done).Save(reportFolder);
        }

        var report = new CrossValidationReport(setup, dataset.Labels, done);
        report.Save(reportFolder);
        progress.Line($"{done.Count} of {folds} folds done; report: {Path.Combine(reportFolder, "report.md")}");
        return report;
    }

    private CrossValidationSetup Setup(ImageFolderDataset dataset)
    {
        using var network = ArchitectureRegistry.Get(options.Architecture).Create(dataset.ImageSize, dataset.Labels.Count);
        return new CrossValidationSetup(options.Architecture, network.ParameterCount(), dataset.ImageSize, folds, options.Seed,
            options.Epochs,
            options.Patience, options.BatchSize, options.LossDescription, options.LearningRate, options.ValidationFraction,
            options.AugmentationDescription,
            ModelManifest.RecordedPath(dataset.Root) +
                (options.MaxImagesPerClass is int cap ? $" (only the first {cap} images of each class)" : ""),
            dataset.Samples.Count, dataset.Samples.Select(s => s.Sha256).Distinct().Count(),
            options.Machine,
            // Runs made before preprocessing was a choice used the stretch and record none, so they continue unchanged.
            options.Preprocessing == Imaging.Preprocessing.Stretch ? null : options.Preprocessing.Describe());
    }
}
