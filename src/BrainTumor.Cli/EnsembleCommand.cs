using System.Text.Json;
using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Inference;
using BrainTumor.Models;
using BrainTumor.Onnx;
using BrainTumor.Onnx.Proto;

namespace BrainTumor.Cli;

/// <summary>
/// Joins packages trained here on the same data, split and input pipeline into one package that answers with the mean of
/// their calibrated probabilities (<see cref="EnsembleGraph"/>), measures it on the members' shared hold-out, and
/// cross-validates it from the members' own cv runs (the same folds, so each fold's ensemble is two models trained on that
/// fold's training part).
/// </summary>
public static class EnsembleCommand
{
    public const string Architecture = "ensemble";

    public static ModelManifest Join(IReadOnlyList<string> memberModels, string name, string outputDirectory, string data, TextWriter log)
    {
        if (memberModels.Count < 2)
        {
            throw new CliException("An ensemble needs at least two --member packages.");
        }
        var members = memberModels.Select(m =>
        {
            string folder = ModelLoader.PackageFolder(m);
            return (Folder: folder, Manifest: ModelManifest.Read(Path.Combine(folder, ModelManifest.FileName)));
        }).ToList();
        var first = members[0].Manifest;
        foreach (var (folder, member) in members)
        {
            string? problem = member switch
            {
                { Members: not null } => "is itself an ensemble",
                { Training: null } => "records no training (an imported package); its hold-out cannot be rebuilt",
                { Outputs.CamGradient: null } or { Outputs.Features: null } or { Outputs.TargetClass: null } =>
                    "lacks the Grad-CAM inputs or features outputs; run braintumor upgrade on it first",
                _ when !member.Labels.SequenceEqual(first.Labels) => $"has other labels ({string.Join(", ", member.Labels)})",
                _ when JsonSerializer.Serialize(member.Input) != JsonSerializer.Serialize(first.Input) => "reads another input (size, normalisation or preprocessing)",
                _ when member.GradCam.Height != first.GradCam.Height || member.GradCam.Width != first.GradCam.Width =>
                    $"has a {member.GradCam.Height}x{member.GradCam.Width} Grad-CAM layer, not {first.GradCam.Height}x{first.GradCam.Width}",
                _ when member.Training!.DatasetContentSha256 != first.Training!.DatasetContentSha256 || member.Training.Split != first.Training.Split =>
                    "was trained on other data or another hold-out split",
                _ when member.Training!.Optimizer != first.Training!.Optimizer || member.Training.LearningRate != first.Training.LearningRate ||
                       member.Training.BatchSize != first.Training.BatchSize => "was trained with another optimiser, learning rate or batch size",
                _ => null,
            };
            if (problem is not null)
            {
                throw new CliException($"'{folder}' {problem}, so it cannot join an ensemble with '{members[0].Folder}'.");
            }
        }

        var graphMembers = members.Select(m => new EnsembleGraph.Member(ReadGraph(m.Folder), m.Manifest.Input.Name,
            m.Manifest.Outputs.Probabilities, m.Manifest.Outputs.Logits, m.Manifest.Outputs.TargetClass!, m.Manifest.Outputs.CamGradient!,
            m.Manifest.Outputs.CamActivation!, m.Manifest.Outputs.Features!)).ToList();
        ModelProto joined;
        try
        {
            joined = EnsembleGraph.Join(graphMembers, members.Select(m => m.Manifest.GradCam.Channels).ToList(), first.GradCam.Height, first.GradCam.Width,
                first.Input.Channels, first.Input.Height, first.Input.Width, first.Labels.Count);
        }
        catch (InvalidOperationException ex)
        {
            throw new CliException(ex.Message);
        }
        Directory.CreateDirectory(outputDirectory);
        OnnxExporter.Save(joined, Path.Combine(outputDirectory, ModelManifest.OnnxFileName));

        var manifest = new ModelManifest
        {
            Name = name,
            Version = $"{DateTime.UtcNow:yyyy.MM.dd}",
            Architecture = Architecture,
            Description = $"Ensemble: the mean of the calibrated probabilities of {string.Join(" and ", members.Select(m => $"{m.Manifest.Name} {m.Manifest.Version}"))}, " +
                          "in one ONNX graph; Grad-CAM over their Grad-CAM layers side by side, for the mean of their logits",
            Labels = first.Labels,
            Input = first.Input,
            Outputs = new ModelOutputs(ModelTensorNames.Logits, ModelTensorNames.Probabilities, ModelTensorNames.Cam, ModelTensorNames.CamClass,
                ModelTensorNames.TargetClass, ModelTensorNames.Features, ModelTensorNames.CamGradient, ModelTensorNames.CamActivation),
            GradCam = new GradCamInfo(string.Join(" + ", members.Select((m, i) => EnsembleGraph.Prefix(i) + m.Manifest.GradCam.Layer)),
                members.Sum(m => m.Manifest.GradCam.Channels), first.GradCam.Height, first.GradCam.Width),
            Parameters = members.Sum(m => m.Manifest.Parameters),
            Members = members.Select(m => new EnsembleMember(m.Manifest.Name, m.Manifest.Version, m.Manifest.Architecture, m.Manifest.Training!,
                m.Manifest.Calibration, m.Manifest.Metrics, m.Manifest.External)).ToList(),
        };
        string manifestPath = Path.Combine(outputDirectory, ModelManifest.FileName);
        manifest.Write(manifestPath);
        manifest = manifest with { Metrics = MeasureHoldOut(outputDirectory, manifest, data, log) };
        manifest.Write(manifestPath);
        log.WriteLine($"{name}: {members.Count} members joined in {outputDirectory}; hold-out accuracy {manifest.Metrics.Accuracy:F4}, macro-F1 " +
                      $"{manifest.Metrics.MacroF1:F4} on {manifest.Metrics.Images} images (members: " +
                      string.Join(", ", members.Select(m => $"{m.Manifest.Metrics?.Accuracy:F4}")) + ")");
        return manifest;
    }

    private static ModelProto ReadGraph(string folder)
    {
        string path = Path.Combine(folder, ModelManifest.OnnxFileName);
        try
        {
            return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            throw new CliException($"'{path}' is not an ONNX model.");
        }
    }

    private static ValidationMetrics MeasureHoldOut(string directory, ModelManifest manifest, string data, TextWriter log)
    {
        var training = manifest.TrainedOn!;
        var dataset = ImageFolderDataset.Load(data, manifest.Labels, manifest.Input.Width, warn: w => log.WriteLine($"warning: {w}"),
            preprocessing: manifest.Input.Steps);
        if (dataset.ContentSha256() != training.DatasetContentSha256)
        {
            throw new CliException($"'{data}' is not the data the members were trained on, so their hold-out cannot be rebuilt.");
        }
        var holdOut = dataset.HoldOut(training.Split.ValidationFraction, training.Split.Seed).Validation;
        using var model = ModelLoader.Load(directory);
        var progress = new ProgressBar(holdOut.Count, "hold-out");
        var probabilities = holdOut.Select((index, done) =>
        {
            progress.Report(done + 1);
            return model.Predict(dataset.Samples[index].Image, withGradCam: false).Probabilities;
        }).ToArray();
        int[] truth = holdOut.Select(i => dataset.Samples[i].Label).ToArray();
        var metrics = ClassificationMetrics.Compute(truth, probabilities.Select(ClassProbabilities.ArgMax).ToArray(), manifest.Labels);
        return ManifestScores.Validation(metrics, ProbabilisticMetrics.MeanLogLoss(probabilities, truth),
            "ONNX Runtime on model.onnx, the members' held-out validation split");
    }

    /// <summary>
    /// Writes the cross-validation of the ensemble recipe to <paramref name="outputFolder"/>: for every fold that each member
    /// run has finished, the mean of the members' temperature-calibrated test probabilities (temperature 1 after that, as
    /// the package has no temperature of its own).
    /// </summary>
    public static CrossValidationReport CrossValidate(IReadOnlyList<string> memberReports, string outputFolder, TextWriter log)
    {
        if (memberReports.Count < 2)
        {
            throw new CliException("An ensemble's cross-validation needs the cv runs of at least two members.");
        }
        var runs = memberReports.Select(folder => (Folder: folder, Saved: CrossValidationReport.Read(folder)
            ?? throw new CliException($"'{Path.Combine(folder, "report.json")}' does not exist; run cv first."))).ToList();
        var setup = runs[0].Saved.Setup;
        foreach (var (folder, saved) in runs)
        {
            var other = saved.Setup;
            if (other.Folds != setup.Folds || other.Seed != setup.Seed || other.Images != setup.Images || other.ImageSize != setup.ImageSize ||
                other.Preprocessing != setup.Preprocessing || other.InnerValidationFraction != setup.InnerValidationFraction ||
                other.Optimizer != setup.Optimizer || other.LearningRate != setup.LearningRate || other.BatchSize != setup.BatchSize ||
                other.MaxEpochs != setup.MaxEpochs || other.Patience != setup.Patience)
            {
                throw new CliException($"'{folder}' made its folds or trained another way than '{runs[0].Folder}'; their folds cannot be averaged.");
            }
        }
        var labels = runs[0].Saved.Labels ?? throw new CliException($"'{runs[0].Folder}' records no labels; rerun its cv command to rewrite report.json.");
        Directory.CreateDirectory(outputFolder);
        var folds = new List<FoldData>();
        for (int fold = 1; fold <= setup.Folds; fold++)
        {
            var parts = memberReports.Select(folder => Path.Combine(folder, $"fold-{fold}.json")).ToList();
            if (!parts.All(File.Exists))
            {
                continue;
            }
            var data = parts.Select(file => JsonSerializer.Deserialize<FoldData>(File.ReadAllText(file), ModelManifest.JsonOptions)!).ToList();
            if (data.Any(d => !d.Truth.SequenceEqual(data[0].Truth)))
            {
                throw new CliException($"The members' fold {fold} test images differ; their runs did not use the same folds.");
            }
            var calibrated = data.Select(d => Calibration.Apply(d.Probabilities, d.Temperature)).ToList();
            float[][] mean = Enumerable.Range(0, data[0].Truth.Length)
                .Select(i => Enumerable.Range(0, labels.Count).Select(c => calibrated.Average(p => p[i][c])).ToArray()).ToArray();
            folds.Add(new FoldData(fold, data[0].TrainImages, data[0].ValidationImages, data.Max(d => d.BestEpoch), data.Sum(d => d.EpochsRun),
                string.Join(" + ", data.Select(d => d.StoppedBy)), data.Sum(d => d.TrainingSeconds), 1.0, [], data[0].Truth, mean));
            File.WriteAllText(Path.Combine(outputFolder, $"fold-{fold}.json"), JsonSerializer.Serialize(folds[^1], ModelManifest.JsonOptions));
        }
        var ensembleSetup = setup with
        {
            Architecture = Architecture,
            Parameters = runs.Sum(r => r.Saved.Setup.Parameters),
            Augmentation = EnsembleMember.Recipe(runs.Select(r => (r.Saved.Setup.Architecture, r.Saved.Setup.Augmentation))),
        };
        var report = new CrossValidationReport(ensembleSetup, labels, folds);
        report.Save(outputFolder);
        var accuracy = report.Summaries()["accuracy"];
        log.WriteLine($"ensemble of {string.Join(", ", memberReports)}: {folds.Count} of {setup.Folds} folds, accuracy {accuracy}; report: {Path.Combine(outputFolder, "report.md")}");
        return report;
    }
}
