using System.Runtime.InteropServices;
using BrainTumor.Models;
using static System.FormattableString;

namespace BrainTumor.Training;

/// <summary>Everything that decides what a training run computes (and so must match when it resumes).</summary>
public sealed record TrainingOptions
{
    public required string Architecture { get; init; }
    public required string DataDirectory { get; init; }
    public required string OutputDirectory { get; init; }
    public string? CheckpointDirectory { get; init; }
    public string? ModelName { get; init; }
    public int Epochs { get; init; } = 100;
    public int BatchSize { get; init; } = 16;
    public double LearningRate { get; init; } = 1e-3;
    public int? ImageSize { get; init; }
    public double ValidationFraction { get; init; } = 0.12;
    public int Seed { get; init; } = 42;
    public int Patience { get; init; } = 5;
    public double RotationDegrees { get; init; } = 10;
    /// <summary>How each image becomes input pixels; the paper's models use <see cref="Imaging.Preprocessing.Stretch"/>.</summary>
    public Imaging.Preprocessing Preprocessing { get; init; } = Imaging.Preprocessing.Stretch;
    public AugmentationMode Augmentation { get; init; } = AugmentationMode.Paper;
    /// <summary>Weight of the penalty on the true class's Grad-CAM mass outside the head (0: none).</summary>
    public double HeadGuidance { get; init; }
    /// <summary>Weight of the penalty on the true class's Grad-CAM mass outside the hand-drawn lesion box, where a training image has
    /// one.</summary>
    public double LesionGuidance { get; init; }
    /// <summary>Lesion-box CSV files (<c>data/lesion-boxes/</c>) for <see cref="LesionGuidance"/>.</summary>
    public IReadOnlyList<string> LesionBoxFiles { get; init; } = [];
    /// <summary>The pretrained backbone's learning rate as a share of the head's (discriminative learning rates).</summary>
    public double BackboneLearningRate { get; init; } = 1;
    /// <summary>Epochs at the start in which only the new head trains (linear probing before fine-tuning).</summary>
    public int HeadOnlyEpochs { get; init; }
    /// <summary>Keep batch norm on its (pretrained) running statistics while training.</summary>
    public bool FrozenBatchNorm { get; init; }
    public TimeSpan? TimeBudget { get; init; }
    public bool Resume { get; init; }
    public int? Threads { get; init; }
    public int? MaxImagesPerClass { get; init; }

    /// <summary>Where the training ran, for provenance: cores, operating system and TorchSharp threads.</summary>
    public string Machine =>
        $"{Imaging.Machine.Description}, TorchSharp CPU, " +
        $"{Threads ?? Environment.ProcessorCount} thread(s)";

    public string AugmentationDescription => Augmentation == AugmentationMode.Paper
        ? $"random horizontal flip, random rotation up to {RotationDegrees} degrees"
        : ScannerAugmentation.Describe(Augmentation, RotationDegrees);

    /// <summary>The optimiser and loss, as manifests and cross-validation reports record them.</summary>
    public string LossDescription =>
        Architectures.ArchitectureRegistry.Get(Architecture).TrainingRecipe.Description + FineTuningDescription +
        (HeadGuidance > 0 ? Invariant($", plus {HeadGuidance} x the share of the true class's Grad-CAM outside the head") : "") +
        (LesionGuidance > 0
            ? Invariant($", plus {LesionGuidance} x the share of the true class's Grad-CAM outside the hand-drawn lesion box") +
              $" ({string.Join(", ", LesionBoxFiles.Select(Path.GetFileName))}; {TrainingProvenance.LesionBoxesNote})"
            : "");

    /// <summary>How the pretrained backbone is trained, when that differs from the head.</summary>
    public string FineTuningDescription =>
        (BackboneLearningRate != 1 ? Invariant($", backbone at {BackboneLearningRate}x the learning rate") : "") +
        (HeadOnlyEpochs > 0 ? $", only the head trained in the first {HeadOnlyEpochs} epoch(s)" : "") +
        (FrozenBatchNorm ? ", batch-norm statistics frozen" : "");

    public string ResolvedModelName => ModelName ?? Path.GetFileName(Path.GetFullPath(OutputDirectory).TrimEnd('/'));

    /// <summary>Checkpoints go beside the project's other ignored build state unless a folder is given.</summary>
    public string ResolvedCheckpointDirectory => CheckpointDirectory ?? Path.Combine("checkpoints", ResolvedModelName);

    public void Validate()
    {
        Require(Epochs > 0, $"--epochs must be positive, not {Epochs}.");
        Require(BatchSize > 0, $"--batch-size must be positive, not {BatchSize}.");
        Require(LearningRate > 0 && LearningRate < 1, $"--lr must be between 0 and 1, not {LearningRate}.");
        Require(ImageSize is null or >= 32 and <= 1024, $"--image-size must be between 32 and 1024, not {ImageSize}.");
        Require(ValidationFraction > 0 && ValidationFraction < 0.5, $"--val-fraction must be between 0 and 0.5, not {ValidationFraction}.");
        Require(Patience > 0, $"--patience must be positive, not {Patience}.");
        Require(RotationDegrees is >= 0 and <= 180, $"--rotation must be between 0 and 180 degrees, not {RotationDegrees}.");
        Require(TimeBudget is null || TimeBudget > TimeSpan.Zero, "--time-budget must be positive.");
        Require(Threads is null or > 0, $"--threads must be positive, not {Threads}.");
        Require(MaxImagesPerClass is null or > 0, $"--max-per-class must be positive, not {MaxImagesPerClass}.");
        Require(BackboneLearningRate is >= 0 and <= 10, $"--backbone-lr must be between 0 and 10, not {BackboneLearningRate}.");
        Require(HeadOnlyEpochs >= 0 && HeadOnlyEpochs < Epochs,
            $"--head-only-epochs must be at least 0 and below --epochs, not {HeadOnlyEpochs}.");
        Require(HeadGuidance is >= 0 and <= 100, $"--head-guidance must be between 0 and 100, not {HeadGuidance}.");
        Require(LesionGuidance is >= 0 and <= 100, $"--lesion-guidance must be between 0 and 100, not {LesionGuidance}.");
        Require(LesionGuidance == 0 || LesionBoxFiles.Count > 0, "--lesion-guidance needs --lesion-boxes.");
        Require(LesionBoxFiles.Count == 0 || LesionGuidance > 0, "--lesion-boxes needs a --lesion-guidance weight.");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new TrainingException(message);
        }
    }
}
