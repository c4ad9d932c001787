using System.CommandLine;
using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Import;

namespace BrainTumor.Cli;

/// <summary>What the commands share: the options several of them take, and how an action ends on a mistake in its input.</summary>
internal static class Commands
{
    public static readonly Option<string> Model = new("--model")
    {
        Description = "Model: a package folder (model.onnx + model.json) or the name of one under models/.",
        DefaultValueFactory = _ => "lite-cnn",
    };

    public static readonly Option<string> Data = new("--data")
    {
        Description = "Labelled folder: one sub-folder of images per label.", Required = true,
    };

    public static readonly Option<string> TrainingData = new("--data")
    {
        Description = "The data the model was trained on (its manifest's split is rebuilt from it).", Required = true,
    };

    public static readonly Option<bool> FullDecode = new("--full-decode")
    {
        Description = "Decode every JPEG at full size, as training does. By default a JPEG at least twice the model's input is " +
                      "decoded at 1/2, 1/4 or 1/8 scale, as the server does.",
    };

    /// <summary>
    /// Runs a command's action: a mistake in the input, data an evaluation cannot use or an unreadable file ends it with one
    /// line on stderr and exit code 1.
    /// </summary>
    public static int Run(Func<object?> command)
    {
        try
        {
            return command() is int code ? code : 0;
        }
        catch (Exception ex) when (ex is CliException or DatasetException or ImportException or EvaluationException or IOException
                                       or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }
}
