using System.CommandLine;
using System.Text.Json;
using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Models;
using BrainTumor.Onnx;
using BrainTumor.Onnx.Proto;
using Google.Protobuf;

namespace BrainTumor.Cli;

/// <summary>
/// <c>braintumor ensemble</c>: joins packages trained here on the same data, split and input pipeline into one package that
/// answers with the mean of their calibrated probabilities (<see cref="EnsembleGraph"/>), and measures it on the members' shared
/// hold-out (<see cref="Ensembles"/>).
/// </summary>
public static class EnsembleCommand
{
    public static Command Definition()
    {
        var members = new Option<string[]>("--member")
        {
            Description = "A member package (folder or name under models/); repeat the option, at least twice.",
            Arity = ArgumentArity.OneOrMore, Required = true,
        };
        var name = new Option<string>("--name") { Description = "The ensemble package's model name.", Required = true };
        var output = new Option<string>("--out")
        {
            Description = "Model package folder to write, e.g. models/lite-cnn-ensemble.", Required = true,
        };
        var ensemble = new Command("ensemble",
            "Join packages trained on the same data, split and input into one package that answers with the mean of their calibrated " +
            "probabilities; scored on their shared hold-out.")
        {
            members, name, output, Commands.TrainingData,
        };
        ensemble.SetAction(parse => Commands.Run(() => Join(parse.GetValue(members)!, parse.GetValue(name)!, parse.GetValue(output)!,
            parse.GetValue(Commands.TrainingData)!, Console.Out)));
        return ensemble;
    }

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
                _ when JsonSerializer.Serialize(member.Input) != JsonSerializer.Serialize(first.Input) =>
                    "reads another input (size, normalisation or preprocessing)",
                _ when member.GradCam.Height != first.GradCam.Height || member.GradCam.Width != first.GradCam.Width =>
                    $"has a {member.GradCam.Height}x{member.GradCam.Width} Grad-CAM layer, " +
                    $"not {first.GradCam.Height}x{first.GradCam.Width}",
                _ when member.Training!.DatasetContentSha256 != first.Training!.DatasetContentSha256
                       || member.Training.Split != first.Training.Split => "was trained on other data or another hold-out split",
                _ when member.Training!.Optimizer != first.Training!.Optimizer
                       || member.Training.LearningRate != first.Training.LearningRate
                       || member.Training.BatchSize != first.Training.BatchSize =>
                    "was trained with another optimiser, learning rate or batch size",
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
            joined = EnsembleGraph.Join(graphMembers, members.Select(m => m.Manifest.GradCam.Channels).ToList(), first.GradCam.Height,
                first.GradCam.Width, first.Input.Channels, first.Input.Height, first.Input.Width, first.Labels.Count);
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
            Architecture = Ensembles.Architecture,
            Description = "Ensemble: the mean of the calibrated probabilities of " +
                          $"{string.Join(" and ", members.Select(m => $"{m.Manifest.Name} {m.Manifest.Version}"))}, " +
                          "in one ONNX graph; Grad-CAM over their Grad-CAM layers side by side, for the mean of their logits",
            Labels = first.Labels,
            Input = first.Input,
            Outputs = new ModelOutputs(ModelTensorNames.Logits, ModelTensorNames.Probabilities, ModelTensorNames.Cam,
                ModelTensorNames.CamClass, ModelTensorNames.TargetClass, ModelTensorNames.Features, ModelTensorNames.CamGradient,
                ModelTensorNames.CamActivation),
            GradCam = new GradCamInfo(string.Join(" + ", members.Select((m, i) => EnsembleGraph.Prefix(i) + m.Manifest.GradCam.Layer)),
                members.Sum(m => m.Manifest.GradCam.Channels), first.GradCam.Height, first.GradCam.Width),
            Parameters = members.Sum(m => m.Manifest.Parameters),
            Members = members.Select(m => new EnsembleMember(m.Manifest.Name, m.Manifest.Version, m.Manifest.Architecture,
                m.Manifest.Training!, m.Manifest.Calibration, m.Manifest.Metrics, m.Manifest.External)).ToList(),
        };
        string manifestPath = Path.Combine(outputDirectory, ModelManifest.FileName);
        manifest.Write(manifestPath);
        manifest = manifest with { Metrics = MeasureHoldOut(outputDirectory, manifest, data, log) };
        manifest.Write(manifestPath);
        log.WriteLine($"{name}: {members.Count} members joined in {outputDirectory}; " +
                      $"hold-out accuracy {manifest.Metrics.Accuracy:F4}, macro-F1 {manifest.Metrics.MacroF1:F4} " +
                      $"on {manifest.Metrics.Images} images (members: " +
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
        catch (InvalidProtocolBufferException)
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
        var heldOut = dataset.HoldOut(training.Split.ValidationFraction, training.Split.Seed).Validation;
        using var model = ModelLoader.Load(directory);
        return Ensembles.HoldOutMetrics(model, dataset, heldOut, ProgressBar.Start);
    }
}
