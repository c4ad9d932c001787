using BrainTumor.Models;
using BrainTumor.Tests;

namespace BrainTumor.Training.Tests;

/// <summary>
/// A network at its real 224x224 size (or a given one), trained for one epoch on 6 real images per class (unless told) so that its weights
/// are no longer the random initialisation, then exported through the same packager as a full run.
/// </summary>
public abstract class BrieflyTrainedNetwork : IDisposable
{
    protected BrieflyTrainedNetwork(string architecture, GradCamInfo expectedGradCam, int? imageSize = null, int epochs = 1,
        int imagesPerClass = 6)
    {
        ExpectedGradCam = expectedGradCam;
        Options = new TrainingOptions
        {
            Architecture = architecture,
            DataDirectory = RepositoryPaths.Dataset,
            OutputDirectory = Path.Combine(Root, "custom-cnn"),
            CheckpointDirectory = Path.Combine(Root, "checkpoints"),
            Epochs = epochs,
            MaxImagesPerClass = imagesPerClass,
            ImageSize = imageSize,
            ValidationFraction = 0.25,
        };
        if (DatasetAbsence.Reason is not null || LibTorchCpu.Crashes(architecture))
        {
            // Its tests are skipped here (ParityFact): there is nothing to train on, or training would end the test process.
            Result = null!;
            Package = null!;
            return;
        }
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
        Result?.Network.Dispose();
        Directory.Delete(Root, recursive: true);
        GC.SuppressFinalize(this);
    }
}

public sealed class BrieflyTrainedPaperCnn() : BrieflyTrainedNetwork("paper-cnn", new GradCamInfo("relu3", 128, 52, 52));

public sealed class BrieflyTrainedLiteCnn() : BrieflyTrainedNetwork("lite-cnn", new GradCamInfo("block4_pw_relu", 256, 14, 14));

/// <summary>ResNet-50 at 96x96 keeps the test short; the residual export is the same at any size.</summary>
public sealed class BrieflyTrainedResNet50()
    : BrieflyTrainedNetwork("resnet50", new GradCamInfo("block16_relu", 2048, 3, 3), imageSize: 96);

/// <summary>The rest of the paper's Table 2 at 96x96, like ResNet-50: the same layers at any size, a shorter test.</summary>
public sealed class BrieflyTrainedDenseNet121()
    : BrieflyTrainedNetwork("densenet121", new GradCamInfo("final_relu", 1024, 3, 3), imageSize: 96);

/// <summary>
/// After one epoch on 6 images per class, MobileNetV2's predicted class had no positive Grad-CAM evidence on any of the 8
/// test images (flat maps, in ONNX and autograd alike), which leaves nothing to compare; three epochs on 12 give it some.
/// </summary>
public sealed class BrieflyTrainedMobileNetV2()
    : BrieflyTrainedNetwork("mobilenetv2", new GradCamInfo("last_relu6", 1280, 3, 3), imageSize: 96, epochs: 3, imagesPerClass: 12);

public sealed class BrieflyTrainedEfficientNetB0()
    : BrieflyTrainedNetwork("efficientnetb0", new GradCamInfo("last_silu", 1280, 3, 3), imageSize: 96);

/// <summary>The ImageNet-initialised ResNet-18 at 64x64: the same export at any multiple of 32, a shorter test.</summary>
public sealed class BrieflyTrainedResNet18() : BrieflyTrainedNetwork("resnet18", new GradCamInfo("block9_relu", 512, 2, 2), imageSize: 64);
