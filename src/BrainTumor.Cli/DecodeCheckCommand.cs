using System.CommandLine;
using BrainTumor.Data;
using BrainTumor.Evaluation;

namespace BrainTumor.Cli;

/// <summary><c>braintumor decode-check</c>: the <see cref="ScaledDecodeCheck"/> of a package on its held-out images.</summary>
public static class DecodeCheckCommand
{
    public static Command Definition()
    {
        var decodeCheck = new Command("decode-check",
            "Compare a model's answers and Grad-CAM maps on its held-out images decoded at full size and at the reduced JPEG scale the " +
            "server uses, and time both decodes.")
        {
            Commands.Model, Commands.TrainingData,
        };
        decodeCheck.SetAction(parse => Commands.Run(() =>
            Run(parse.GetValue(Commands.Model)!, parse.GetValue(Commands.TrainingData)!, Console.Out)));
        return decodeCheck;
    }

    public static int Run(string modelDirectory, string dataDirectory, TextWriter log)
    {
        using var model = ModelLoader.Load(modelDirectory);
        var manifest = model.Manifest;
        if (!model.HasGradCam)
        {
            throw new CliException($"Model '{manifest.Name}' has no Grad-CAM graph to compare maps with.");
        }
        var dataset = ImageFolderDataset.Load(dataDirectory, manifest.Labels, manifest.Input.Width,
            warn: w => log.WriteLine($"warning: {w}"), preprocessing: manifest.Input.Steps);
        var heldOut = EvaluateCommand.TrainingSplit(manifest, dataset, dataDirectory).Validation
            .Select(i => Path.Combine(dataset.Root, dataset.Samples[i].RelativePath)).ToList();
        foreach (string paragraph in ScaledDecodeCheck.Run(model, heldOut, ProgressBar.Start))
        {
            log.WriteLine(paragraph);
        }
        return 0;
    }
}
