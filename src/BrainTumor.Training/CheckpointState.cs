using System.Text.Json;
using BrainTumor.Models;

namespace BrainTumor.Training;

public sealed record EpochRecord(
    int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss, double ValidationAccuracy, double ValidationMacroF1,
    double Seconds);

/// <summary>
/// What a run has done so far, saved after every epoch beside the weights (<c>last.weights</c>,
/// <c>last.optimizer</c>, <c>best.weights</c>) so that <c>--resume</c> continues where it stopped.
/// </summary>
public sealed record CheckpointState
{
    public const string FileName = "state.json";

    public required string Architecture { get; init; }
    public required int ImageSize { get; init; }
    public required int Seed { get; init; }
    public required double ValidationFraction { get; init; }
    public required int BatchSize { get; init; }
    public required double LearningRate { get; init; }
    public required string DatasetContentSha256 { get; init; }
    /// <summary>The input preprocessing and augmentation, in words.</summary>
    public string? InputRecipe { get; init; }
    public int EpochsCompleted { get; init; }
    public int BestEpoch { get; init; }
    /// <summary>Null until an epoch has finished.</summary>
    public double? BestValidationLoss { get; init; }
    public int EpochsWithoutImprovement { get; init; }
    public double TrainingSeconds { get; init; }
    public string? StoppedBy { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public List<EpochRecord> History { get; init; } = [];

    public static string LastWeights(string directory) => Path.Combine(directory, "last.weights");
    public static string LastOptimizer(string directory) => Path.Combine(directory, "last.optimizer");
    public static string BestWeights(string directory) => Path.Combine(directory, "best.weights");

    public static CheckpointState? TryRead(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(path), ModelManifest.JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new TrainingException($"Checkpoint '{path}' is unreadable: {ex.Message}");
        }
    }

    /// <summary>Written to a temporary file first, so an interrupted write never leaves a broken checkpoint.</summary>
    public void Write(string directory)
    {
        string path = Path.Combine(directory, FileName);
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, ModelManifest.JsonOptions));
        File.Move(temporary, path, overwrite: true);
    }

    public static string InputRecipeOf(TrainingOptions options) =>
        $"{options.Preprocessing.Describe()}; augmentation: {options.AugmentationDescription}" +
        (options.HeadGuidance > 0 || options.LesionGuidance > 0 ? $"; loss: {options.LossDescription}" : "") +
        (options.FineTuningDescription is { Length: > 0 } fineTuning ? $"; fine-tuning: {fineTuning.TrimStart(',', ' ')}" : "");

    /// <summary>Explains why a checkpoint cannot continue a run with these options, or returns null.</summary>
    public string? Incompatibility(TrainingOptions options, int imageSize, string datasetSha256) =>
        Architecture != options.Architecture ? $"it trains '{Architecture}', not '{options.Architecture}'"
        : ImageSize != imageSize ? $"its image size is {ImageSize}, not {imageSize}"
        : Seed != options.Seed ? $"its seed is {Seed}, not {options.Seed}"
        : ValidationFraction != options.ValidationFraction
            ? $"its validation fraction is {ValidationFraction}, not {options.ValidationFraction}"
        : BatchSize != options.BatchSize ? $"its batch size is {BatchSize}, not {options.BatchSize}"
        : LearningRate != options.LearningRate ? $"its learning rate is {LearningRate}, not {options.LearningRate}"
        : DatasetContentSha256 != datasetSha256 ? "it was trained on different data"
        : InputRecipe != InputRecipeOf(options) ? $"its input recipe is '{InputRecipe}', not '{InputRecipeOf(options)}'"
        : null;
}
