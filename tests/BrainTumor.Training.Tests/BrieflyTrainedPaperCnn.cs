using BrainTumor.Models;
using BrainTumor.Tests;

namespace BrainTumor.Training.Tests;

/// <summary>
/// A network at its real 224x224 size, trained for one epoch on 6 real images per class so that its weights
/// are no longer the random initialisation, then exported through the same packager as a full run.
/// </summary>
public abstract class BrieflyTrainedNetwork : IDisposable
{
    protected BrieflyTrainedNetwork(string architecture, GradCamInfo expectedGradCam, int? imageSize = null)
    {
        ExpectedGradCam = expectedGradCam;
        Options = new TrainingOptions
        {
            Architecture = architecture,
            DataDirectory = RepositoryPaths.Dataset,
            OutputDirectory = Path.Combine(Root, "custom-cnn"),
            CheckpointDirectory = Path.Combine(Root, "checkpoints"),
            Epochs = 1,
            MaxImagesPerClass = 6,
            ImageSize = imageSize,
            ValidationFraction = 0.25,
        };
        var progress = new ProgressReporter(TextWriter.Null, interactive: false);
        Result = new Trainer(Options, progress).Run();
        Package = ModelPackager.Write(Result, Options, progress);
    }

    public GradCamInfo ExpectedGradCam { get; }
    public string Root { get; } = Directory.CreateTempSubdirectory("braintumor-trained-").FullName;
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

public sealed class BrieflyTrainedPaperCnn() : BrieflyTrainedNetwork("paper-cnn", new GradCamInfo("relu3", 128, 52, 52));

public sealed class BrieflyTrainedLiteCnn() : BrieflyTrainedNetwork("lite-cnn", new GradCamInfo("block4_pw_relu", 256, 14, 14));

/// <summary>ResNet-50 at 96x96 keeps the test short; the residual export is the same at any size.</summary>
public sealed class BrieflyTrainedResNet50() : BrieflyTrainedNetwork("resnet50", new GradCamInfo("block16_relu", 2048, 3, 3), imageSize: 96);
