using System.CommandLine;
using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Models;

namespace BrainTumor.Cli;

/// <summary>
/// <c>braintumor fit-ood</c>: gives a package its out-of-distribution guard (<see cref="OutOfDistributionFit"/>), fitted on the
/// package's own training split and thresholded on its held-out split, and writes the guard's report.
/// </summary>
public static class FitOutOfDistributionCommand
{
    // 97.5% (the example) accepted 0.960 of Testing-dev; 99% accepted 0.984 and flagged the same non-brain, photograph and
    // synthetic images (lite-cnn, measured 2026-12-02). Raising it further lets photographs through.
    public const double DefaultAcceptance = 0.99;
    public const string StatisticsFile = "ood-statistics.bin";
    private const double ImportedHoldOut = 0.12;
    private const int ImportedSeed = 42;

    public static Command Definition()
    {
        var external = new Option<string>("--external")
        {
            Description = "A labelled folder from other sources, to measure how much of it is accepted.", Required = true,
        };
        var output = new Option<string?>("--out") { Description = "Report folder (default: reports/ood/<model>)." };
        var acceptance = new Option<double>("--acceptance")
        {
            Description = "Share of the held-out images the threshold accepts.", DefaultValueFactory = _ => DefaultAcceptance,
        };
        var annotations = new Option<string[]>("--annotations")
        {
            Description = "CSVs of images known by SHA-256, with a 'modality' column (CT slices form their own groups) or a 'plane' " +
                          "column (acceptance per plane); repeat the option.",
        };
        var fitOod = new Command("fit-ood",
            "Fit a model's out-of-distribution guard on its training split, set its threshold on its held-out split, and measure it.")
        {
            Commands.Model, Commands.TrainingData, external, output, acceptance, annotations,
        };
        fitOod.SetAction(parse => Commands.Run(() => Run(parse.GetValue(Commands.Model)!, parse.GetValue(Commands.TrainingData)!,
            parse.GetValue(external)!, parse.GetValue(output), Console.Out, parse.GetValue(acceptance), parse.GetValue(annotations))));
        return fitOod;
    }

    /// <param name="annotationFiles">CSVs of images known by SHA-256 (<see cref="SliceAnnotations"/>): those annotated CT form the
    /// head-CT groups instead of counting as in distribution, and the planes give the acceptance per plane.</param>
    public static OutOfDistributionGuard Run(string model, string dataDirectory, string externalDirectory, string? outputDirectory,
        TextWriter log, double acceptance = DefaultAcceptance, IReadOnlyList<string>? annotationFiles = null)
    {
        if (!(acceptance > 0.5 && acceptance < 1))
        {
            throw new CliException($"--acceptance must be between 0.5 and 1 (exclusive), not {acceptance}.");
        }
        string directory = ModelLoader.PackageFolder(model);
        string manifestPath = Path.Combine(directory, ModelManifest.FileName);
        var manifest = ModelManifest.Read(manifestPath) with { OutOfDistribution = null };
        manifest = PackageUpgrade.Upgrade(directory, manifest, log);
        manifest.Write(manifestPath);

        using var classifier = ModelLoader.Load(directory);
        var dataset = ImageFolderDataset.Load(dataDirectory, manifest.Labels, manifest.Input.Width,
            warn: w => log.WriteLine($"warning: {w}"), preprocessing: manifest.Input.Steps);
        // A package trained here is fitted on its own training split and thresholded on its own hold-out. An imported one
        // records no split: the given data is split the same way (12%, seed 42), though the model may have trained on all of it.
        var training = manifest.TrainedOn;
        if (training is not null && dataset.ContentSha256() != training.DatasetContentSha256)
        {
            throw new CliException(
                $"'{dataDirectory}' is not the data '{manifest.Name}' was trained on, so its training split cannot be rebuilt.");
        }
        var (fraction, seed) = training is null
            ? (ImportedHoldOut, ImportedSeed)
            : (training.Split.ValidationFraction, training.Split.Seed);
        var split = dataset.HoldOut(fraction, seed);
        var external = ImageFolderDataset.Load(externalDirectory, manifest.Labels, manifest.Input.Width,
            warn: w => log.WriteLine($"warning: {w}"), preprocessing: manifest.Input.Steps);
        if (external.ContentSha256() == dataset.ContentSha256())
        {
            throw new CliException($"'{externalDirectory}' is the training data; the external set must come from elsewhere.");
        }

        var fit = OutOfDistributionFit.Run(classifier, dataset, split, external, SliceAnnotations.Read(annotationFiles ?? []), acceptance,
            log, ProgressBar.Start);
        string folder = outputDirectory ?? Path.Combine("reports", "ood", manifest.Name);
        string fittedOn = training is null
            ? $"{split.Train.Count} images of {ModelManifest.RecordedPath(dataDirectory)} (a stratified {fraction:P0} hold-out, " +
              $"seed {seed}, set apart; the model records no training split)"
            : $"the {split.Train.Count} training images of the package's split (seed {seed})";
        var guard = fit.Guard(StatisticsFile, fittedOn, folder);
        fit.Distribution.Save(Path.Combine(directory, StatisticsFile));
        (manifest with { OutOfDistribution = guard }).Write(manifestPath);

        log.WriteLine(fit.Save(manifest, guard, folder));
        log.WriteLine($"{manifest.Name}: guard written to {manifestPath} and {Path.Combine(directory, StatisticsFile)}; " +
                      $"report in {folder}");
        return guard;
    }
}
