using System.CommandLine;
using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Imaging;
using BrainTumor.Models;

namespace BrainTumor.Cli;

public enum EvaluationSplit
{
    All,
    Validation,
}

/// <summary>Evaluates a shipped model on a labelled folder with ONNX Runtime and writes the report.</summary>
public static class EvaluateCommand
{
    public static Command Definition()
    {
        var output = new Option<string?>("--out") { Description = "Report folder (default: reports/evaluate-<model>-<split>)." };
        var split = new Option<EvaluationSplit>("--split")
        {
            Description = "all, or validation: only the held-out split the model's manifest records.",
            DefaultValueFactory = _ => EvaluationSplit.All,
        };
        var gradCamDeletion = new Option<double?>("--gradcam-deletion")
        {
            Description = "Also check Grad-CAM's faithfulness: blank this share of each image where the map is highest (e.g. 0.2) " +
                          "and compare with a shuffled map.",
        };
        var recordExternal = new Option<bool>("--record-external")
        {
            Description = "Record the results in the package's model.json as its external validation (for a set from other sources " +
                          "than the training data).",
        };
        var gradCamChecks = new Option<bool>("--gradcam-checks")
        {
            Description = "Also run the Grad-CAM sanity checks (cascading randomisation, class sensitivity, map outside the head, " +
                          "stability) on 10 images per class, and record them in the package's model.json.",
        };
        var exclude = new Option<string[]>("--exclude")
        {
            Description = "A file (relative to --data, e.g. glioma_tumor/image(56).jpg) to leave out of a second set of figures; " +
                          "repeat for several.",
            AllowMultipleArgumentsPerToken = false,
        };
        var pairedWith = new Option<string?>("--paired-with")
        {
            Description = "The report folder of another model's evaluation on the same data: count the images only one of the two " +
                          "got right, with the exact McNemar test.",
        };
        var lesionBoxes = new Option<string?>("--lesion-boxes")
        {
            Description = "A CSV of hand-drawn lesion boxes on this data (data/lesion-boxes/*.csv): also play the pointing game with " +
                          "every map method on the evaluated slices that have one.",
        };
        var evaluate = new Command("evaluate",
            "Evaluate a model on a labelled folder: metrics, report.md, report.json, predictions.csv and plots.")
        {
            Commands.Model, Commands.Data, output, split, gradCamDeletion, recordExternal, gradCamChecks, exclude, pairedWith, lesionBoxes,
            Commands.FullDecode,
        };
        evaluate.SetAction(parse => Commands.Run(() => Run(parse.GetValue(Commands.Model)!, parse.GetValue(Commands.Data)!,
            parse.GetValue(output), parse.GetValue(split), Console.Out, parse.GetValue(gradCamDeletion), parse.GetValue(recordExternal),
            parse.GetValue(gradCamChecks), parse.GetValue(exclude), parse.GetValue(pairedWith), parse.GetValue(lesionBoxes),
            parse.GetValue(Commands.FullDecode))));
        return evaluate;
    }

    /// <param name="gradCamDeletionFraction">When set, also runs the Grad-CAM deletion check blanking this share of each
    /// input.</param>
    /// <param name="recordExternal">Write the results into the package's manifest as its external validation.</param>
    /// <param name="gradCamChecks">Also run the Grad-CAM sanity checks (<see cref="GradCamSanityChecks"/>) and record them in the
    /// manifest.</param>
    /// <param name="excluded">Files (relative to the data folder) also left out of a second set of figures, such as CT slices in an
    /// MRI set.</param>
    /// <param name="pairedWith">The report folder of another model's evaluation on the same images, to compare with image by
    /// image.</param>
    /// <param name="fullDecode">Decode every JPEG at full size, as training does, instead of at the smallest scale that still covers
    /// the input (as the server does).</param>
    public static EvaluationReport Run(string modelDirectory, string dataDirectory, string? outputDirectory, EvaluationSplit split,
        TextWriter log, double? gradCamDeletionFraction = null, bool recordExternal = false, bool gradCamChecks = false,
        IReadOnlyList<string>? excluded = null, string? pairedWith = null, string? lesionBoxes = null, bool fullDecode = false)
    {
        using var model = ModelLoader.Load(modelDirectory);
        var manifest = model.Manifest;
        if (gradCamDeletionFraction is double f && !(f > 0 && f < 1))
        {
            throw new CliException($"--gradcam-deletion must be between 0 and 1 (exclusive), not {f}.");
        }
        if ((gradCamDeletionFraction is not null || gradCamChecks) && !model.HasGradCam)
        {
            throw new CliException($"Model '{manifest.Name}' has no Grad-CAM graph to check.");
        }
        if (manifest.Input.Width != manifest.Input.Height)
        {
            throw new CliException(
                $"Model '{manifest.Name}' takes {manifest.Input.Width}x{manifest.Input.Height} input; only square inputs are evaluated.");
        }
        void RefuseAsExternal(bool trainedOnThese)
        {
            if (recordExternal && (trainedOnThese || split == EvaluationSplit.Validation))
            {
                throw new CliException(
                    $"'{dataDirectory}' is the data '{manifest.Name}' was trained on, so it cannot be its external validation.");
            }
        }
        // Refused before the images are decoded, which takes a minute for the Training data.
        RefuseAsExternal(recordExternal && manifest.TrainedOn?.DatasetContentSha256
            == ImageFolderDataset.FilesContentSha256(dataDirectory, manifest.Labels));
        var dataset = ImageFolderDataset.Load(dataDirectory, manifest.Labels, manifest.Input.Width,
            warn: w => log.WriteLine($"warning: {w}"), preprocessing: manifest.Input.Steps, scaledDecoding: !fullDecode);
        var notes = new List<string>();
        if (dataset.Skipped.Count > 0)
        {
            notes.Add($"{dataset.Skipped.Count} unreadable file(s) were skipped.");
        }
        IReadOnlyList<int> indices = Enumerable.Range(0, dataset.Samples.Count).ToList();
        bool trainedOnThese = manifest.TrainedOn?.DatasetContentSha256 == dataset.ContentSha256();
        RefuseAsExternal(trainedOnThese);
        if (split == EvaluationSplit.Validation)
        {
            indices = TrainingSplit(manifest, dataset, dataDirectory).Validation;
            notes.Add($"Only the held-out validation split ({indices.Count} images, seed {manifest.TrainedOn!.Split.Seed}) that the " +
                      "model never trained on.");
        }
        else if (trainedOnThese)
        {
            notes.Add("These are the images the model was trained on (all but its validation split): the numbers are optimistic. " +
                      "Use --split validation for the held-out part.");
        }

        var progress = new ProgressBar(indices.Count, "evaluating");
        var probabilities = new List<float[]>(indices.Count);
        foreach (int index in indices)
        {
            probabilities.Add(model.Predict(dataset.Samples[index].Image, withGradCam: false).Probabilities);
            progress.Report(probabilities.Count);
        }
        int[] truth = indices.Select(i => dataset.Samples[i].Label).ToArray();
        var metrics = ProbabilisticMetrics.Compute(probabilities, truth, manifest.Labels);
        var classification = metrics.Classification;
        log.WriteLine($"{manifest.Name} on {truth.Length} images: accuracy {classification.Accuracy:F4}, " +
                      $"macro-F1 {classification.MacroF1:F4}, macro-AUC {metrics.MacroAuc:F4}, MCC {metrics.Mcc:F4}, " +
                      $"ECE {metrics.ExpectedCalibrationError:F4}" +
                      (classification.TumourSensitivity is double sensitivity
                          ? $", tumour sensitivity {sensitivity:F4} ({classification.TumoursMissed} tumours called " +
                            $"{ClassificationMetrics.NoTumorLabel})"
                          : ""));
        notes.Add($"All {truth.Length} images: {WilsonInterval.Summary(metrics.Classification)}.");
        log.WriteLine(notes[^1]);
        var files = indices.Select(i => dataset.Samples[i].RelativePath.Replace('\\', '/')).ToList();
        var predicted = probabilities.Select(ClassProbabilities.ArgMax).ToList();
        if (pairedWith is not null)
        {
            notes.Add(EvaluationPredictions.Paired(manifest.Name, files, truth, predicted, pairedWith));
            log.WriteLine(notes[^1]);
        }
        if (excluded is { Count: > 0 })
        {
            var leftOut = excluded.Select(e => e.Replace('\\', '/')).ToHashSet(StringComparer.Ordinal);
            var kept = indices.Select((sample, position) => (sample, position))
                .Where(p => !leftOut.Contains(dataset.Samples[p.sample].RelativePath.Replace('\\', '/'))).Select(p => p.position).ToList();
            if (kept.Count != truth.Length - leftOut.Count)
            {
                throw new CliException(
                    $"Only {truth.Length - kept.Count} of the {leftOut.Count} --exclude files are among the evaluated images.");
            }
            var subset = ClassificationMetrics.Compute(kept.Select(p => truth[p]).ToArray(),
                kept.Select(p => ClassProbabilities.ArgMax(probabilities[p])).ToArray(), manifest.Labels);
            notes.Add($"Without the {leftOut.Count} excluded images ({string.Join(", ", leftOut.Order(StringComparer.Ordinal))}): " +
                      $"{WilsonInterval.Summary(subset)}.");
            log.WriteLine(notes[^1]);
        }
        if (manifest.SensitiveOperatingPoint is { } point
            && manifest.Labels.ToList().IndexOf(ClassificationMetrics.NoTumorLabel) is int noTumor and >= 0)
        {
            var decided = probabilities.Select(p => ClassProbabilities.Decide(p, noTumor, point.NoTumorMinimum)).ToArray();
            var sensitive = ClassificationMetrics.Compute(truth, decided, manifest.Labels);
            string line = $"At the sensitive operating point (no_tumor only when at least {point.NoTumorMinimum:0.000} likely): accuracy " +
                          $"{sensitive.Accuracy:F4}, macro-F1 {sensitive.MacroF1:F4}, " +
                          $"tumour sensitivity {sensitive.TumourSensitivity:F4} " +
                          $"({sensitive.TumoursMissed} tumours called {ClassificationMetrics.NoTumorLabel}), " +
                          string.Join(", ", sensitive.PerClass.Select(c => $"{c.Label} recall {c.Recall:F4}")) + ".";
            notes.Add(line);
            log.WriteLine(line);
        }
        GradCamDeletion? deletion = null;
        if (gradCamDeletionFraction is double fraction)
        {
            deletion = GradCamDeletionCheck.Run(model, indices.Select(i => dataset.Samples[i].Image).ToList(), fraction, seed: 1,
                ProgressBar.Start);
        }
        List<GradCamChecks>? checks = null;
        if (gradCamChecks)
        {
            string dataName = ModelManifest.RecordedPath(dataDirectory) + (split == EvaluationSplit.Validation ? " (held-out split)" : "");
            var labelledFiles = indices.Select(i => (Path.Combine(dataset.Root, dataset.Samples[i].RelativePath), dataset.Samples[i].Label))
                .ToList();
            checks = model.CamMethodsAvailable
                .Select(method => GradCamSanityChecks.Run(model, method, dataName, labelledFiles, seed: 1, log, ProgressBar.Start))
                .ToList();
            notes.AddRange(checks.Select(GradCamSanityChecks.Summary));
        }
        List<LesionPointing>? pointing = null;
        if (lesionBoxes is not null)
        {
            var boxes = PointingGame.Read(lesionBoxes);
            var evaluated = files.ToHashSet(StringComparer.Ordinal);
            pointing = model.CamMethodsAvailable
                .Select(method => LesionPointingCheck.Run(model, method, dataset.Root, boxes, evaluated, ProgressBar.Start)).ToList();
            foreach (string summary in pointing.Select(p => p.Summary()))
            {
                notes.Add(summary);
                log.WriteLine(summary);
            }
        }
        var report = new EvaluationReport(manifest.Name, manifest.Version, manifest.Architecture, ModelManifest.RecordedPath(dataDirectory),
            DateTimeOffset.UtcNow, Machine.Description, manifest.Labels, metrics, notes, deletion);
        string folder = outputDirectory ?? Path.Combine("reports", $"evaluate-{manifest.Name}-{split.ToString().ToLowerInvariant()}");
        report.Save(folder, probabilities, truth);
        EvaluationPredictions.Write(Path.Combine(folder, EvaluationPredictions.FileName), manifest.Labels, files, truth, probabilities);
        if (recordExternal)
        {
            RecordExternal(model.Directory, dataset, metrics.Classification);
            log.WriteLine($"recorded as the external validation in {Path.Combine(model.Directory, ModelManifest.FileName)}");
        }
        if (checks is not null)
        {
            string path = Path.Combine(model.Directory, ModelManifest.FileName);
            (ModelManifest.Read(path) with { GradCamChecks = checks }).Write(path);
            checks.ForEach(c => log.WriteLine(GradCamSanityChecks.Summary(c)));
            log.WriteLine($"Grad-CAM checks recorded in {path}");
        }
        // Only the held-out split's pointing game is recorded: it may choose the default map method, which other data must not.
        if (pointing is not null && split == EvaluationSplit.Validation)
        {
            string path = Path.Combine(model.Directory, ModelManifest.FileName);
            string boxesFile = ModelManifest.RecordedPath(lesionBoxes!);
            string dataName = $"{ModelManifest.RecordedPath(dataDirectory)} (held-out split)";
            var results = pointing.Select(p => p.Record(boxesFile, dataName)).ToList();
            var updated = ModelManifest.Read(path) with { PointingGame = results };
            updated.Write(path);
            log.WriteLine($"Pointing game recorded in {path}; the default map method is {updated.DefaultCamMethod}");
        }
        if (deletion is not null)
        {
            log.WriteLine($"Grad-CAM deletion check on {deletion.Images} images: confidence falls by {deletion.MeanDropGradCam:F3} with " +
                          $"the Grad-CAM area blanked, {deletion.MeanDropRandom:F3} with a shuffled map's area");
        }
        log.WriteLine($"report: {Path.Combine(folder, "report.md")}");
        return report;
    }

    /// <summary>
    /// The model's training and held-out images (indices into <paramref name="dataset"/>), rebuilt from the split its manifest
    /// records.
    /// </summary>
    public static DuplicateAwareSplit.Split TrainingSplit(ModelManifest manifest, ImageFolderDataset dataset, string dataDirectory)
    {
        var training = manifest.TrainedOn ?? throw new CliException($"Model '{manifest.Name}' records no training split.");
        if (training.DatasetContentSha256 != dataset.ContentSha256())
        {
            throw new CliException(
                $"'{dataDirectory}' is not the data '{manifest.Name}' was trained on, so its validation split cannot be rebuilt.");
        }
        return dataset.HoldOut(training.Split.ValidationFraction, training.Split.Seed);
    }

    private static void RecordExternal(string modelDirectory, ImageFolderDataset dataset, ClassificationMetrics metrics)
    {
        string path = Path.Combine(modelDirectory, ModelManifest.FileName);
        var external = new ExternalValidation(
            ModelManifest.RecordedPath(dataset.Root), dataset.ContentSha256(), metrics.Count, Math.Round(metrics.Accuracy, 4),
            Math.Round(metrics.MacroF1, 4), metrics.TumourSensitivity is double s ? Math.Round(s, 4) : null, metrics.TumoursMissed,
            ManifestScores.PerClass(metrics), metrics.ConfusionMatrix, DateTimeOffset.UtcNow,
            "braintumor evaluate --record-external: ONNX Runtime on model.onnx with the package's own preprocessing");
        (ModelManifest.Read(path) with { External = external }).Write(path);
    }
}
