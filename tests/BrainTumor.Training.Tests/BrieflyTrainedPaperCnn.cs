using BrainTumor.Models;
using BrainTumor.Tests;

namespace BrainTumor.Training.Tests;

/// <summary>
/// paper-cnn at its real 224x224 size, trained for one epoch on 6 real images per class so that its weights
/// are no longer the random initialisation, then exported through the same packager as a full run.
/// </summary>
public sealed class BrieflyTrainedPaperCnn : IDisposable
{
    public BrieflyTrainedPaperCnn()
    {
        Options = new TrainingOptions
        {
            Architecture = "paper-cnn",
            DataDirectory = RepositoryPaths.Dataset,
            OutputDirectory = Path.Combine(Root, "custom-cnn"),
            CheckpointDirectory = Path.Combine(Root, "checkpoints"),
            Epochs = 1,
            MaxImagesPerClass = 6,
            ValidationFraction = 0.25,
        };
        var progress = new ProgressReporter(TextWriter.Null, interactive: false);
        Result = new Trainer(Options, progress).Run();
        Package = ModelPackager.Write(Result, Options, progress);
    }

    public string Root { get; } = Directory.CreateTempSubdirectory("braintumor-paper-cnn-").FullName;
    public TrainingOptions Options { get; }
    public TrainingResult Result { get; }
    public ModelPackager.PackageResult Package { get; }
    public string OnnxPath => Path.Combine(Options.OutputDirectory, ModelManifest.OnnxFileName);

    public void Dispose()
    {
        Result.Network.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}
