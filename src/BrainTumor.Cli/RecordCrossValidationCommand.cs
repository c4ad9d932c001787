using System.CommandLine;
using BrainTumor.Evaluation;
using BrainTumor.Imaging;
using BrainTumor.Models;

namespace BrainTumor.Cli;

/// <summary>
/// Writes a cv run's summary into a package's <c>model.json</c>, so that <c>GET /models</c> (and the viewer page) show it,
/// after checking that the run used the package's recipe: the same architecture, input, augmentation and optimiser. It also
/// fits the sensitive operating point on the run's held-out folds.
/// </summary>
public static class RecordCrossValidationCommand
{
    /// <summary>
    /// Tumour sensitivity the sensitive operating point must reach on the held-out folds: at most 1 tumour in 200 missed.
    /// </summary>
    public const double DefaultTargetSensitivity = 0.995;

    public static Command Definition()
    {
        var report = new Argument<string>("report")
        {
            Description = "The cv run's report folder (with report.json), e.g. reports/cv-lite-cnn-default.",
        };
        var recordCv = new Command("record-cv",
            "Record a cross-validation run of the package's recipe in its model.json, where GET /models and the viewer page show it.")
        {
            Commands.Model, report,
        };
        recordCv.SetAction(parse => Commands.Run(() => Run(parse.GetValue(Commands.Model)!, parse.GetValue(report)!, Console.Out)));
        return recordCv;
    }

    public static CrossValidationSummary Run(string model, string reportFolder, TextWriter log,
        double targetSensitivity = DefaultTargetSensitivity)
    {
        string directory = ModelLoader.PackageFolder(model);
        string path = Path.Combine(directory, ModelManifest.FileName);
        var manifest = ModelManifest.Read(path);
        var saved = CrossValidationReport.Read(reportFolder)
            ?? throw new CliException($"'{Path.Combine(reportFolder, "report.json")}' does not exist; run cv first.");
        var differences = RecipeDifferences(manifest, saved.Setup);
        if (differences.Count > 0)
        {
            throw new CliException(
                $"the cv run in '{reportFolder}' did not use {manifest.Name}'s recipe ({string.Join("; ", differences)}).");
        }
        var accuracy = saved.Summaries["accuracy"];
        double? sensitivity = saved.Summaries.TryGetValue("tumour sensitivity", out var tumour) && double.IsFinite(tumour.Mean)
            ? Math.Round(tumour.Mean, 4)
            : null;
        var summary = new CrossValidationSummary(
            ModelManifest.RecordedPath(reportFolder), saved.Setup.Folds, saved.FoldsDone,
            Math.Round(accuracy.Mean, 4), Math.Round(accuracy.Std, 4), Math.Round(saved.Summaries["macro-F1"].Mean, 4), sensitivity,
            DateTimeOffset.UtcNow);
        var (probabilities, truth, folds) = OperatingPointFit.HeldOut(reportFolder);
        var operatingPoint = OperatingPointFit.Fit(probabilities, truth, manifest.Labels, targetSensitivity,
            $"the held-out folds of {summary.Report} ({folds} of {saved.Setup.Folds} folds, {truth.Count} images, each fold's " +
            "temperature applied)");
        (manifest with { CrossValidation = summary, SensitiveOperatingPoint = operatingPoint }).Write(path);
        log.WriteLine($"{manifest.Name}: cross-validation accuracy {summary.Accuracy:F3} ± {summary.AccuracyStd:F3} over " +
                      $"{summary.FoldsDone} of {summary.Folds} folds recorded in {path}");
        log.WriteLine($"{manifest.Name}: sensitive operating point: no_tumor only when at least {operatingPoint.NoTumorMinimum:0.000} " +
                      "likely; on the held-out folds " +
                      $"tumour sensitivity {operatingPoint.AtArgmax.TumourSensitivity:0.000} -> " +
                      $"{operatingPoint.AtMinimum.TumourSensitivity:0.000}, " +
                      $"no_tumor recall {operatingPoint.AtArgmax.NoTumorRecall:0.000} -> {operatingPoint.AtMinimum.NoTumorRecall:0.000}, " +
                      $"accuracy {operatingPoint.AtArgmax.Accuracy:0.000} -> {operatingPoint.AtMinimum.Accuracy:0.000}");
        return summary;
    }

    private static List<string> RecipeDifferences(ModelManifest manifest, CrossValidationSetup setup)
    {
        var differences = new List<string>();
        void Compare(string what, object? package, object? run)
        {
            if (!Equals(package, run))
            {
                differences.Add($"{what}: package {package}, cv {run}");
            }
        }
        Compare("architecture", manifest.Architecture, setup.Architecture);
        Compare("input size", manifest.Input.Height, setup.ImageSize);
        // A run written before pipelines were recorded used the original one, the whole image stretched.
        bool samePipeline = setup.Preprocessing is null
            ? manifest.Input.Steps == Preprocessing.Stretch
            : manifest.Input.Resize.StartsWith(setup.Preprocessing, StringComparison.Ordinal);
        Compare("input pipeline", manifest.Input.Resize,
            samePipeline ? manifest.Input.Resize : setup.Preprocessing ?? "whole image stretched");
        Compare("augmentation", manifest.TrainingAugmentation, setup.Augmentation);
        // An ensemble's members share the optimiser, learning rate and batch size (braintumor ensemble checks).
        Compare("optimiser", manifest.TrainedOn?.Optimizer is string optimizer ? TrainingProvenance.Recipe(optimizer) : null,
            TrainingProvenance.Recipe(setup.Optimizer));
        Compare("learning rate", manifest.TrainedOn?.LearningRate, setup.LearningRate);
        Compare("batch size", manifest.TrainedOn?.BatchSize, setup.BatchSize);
        return differences;
    }
}
