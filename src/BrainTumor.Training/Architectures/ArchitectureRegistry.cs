namespace BrainTumor.Training.Architectures;

/// <param name="Create">Builds a freshly initialised network for an image size and a class count.</param>
public sealed record ArchitectureDefinition(string Name, string Description, int DefaultImageSize, Func<int, int, ClassifierNetwork> Create);

/// <summary>The architectures <c>train</c> knows, by name.</summary>
public static class ArchitectureRegistry
{
    public static IReadOnlyList<ArchitectureDefinition> All { get; } =
    [
        new("paper-cnn",
            "The published baseline: Conv 64-128-128 (3x3 valid, ReLU, 2x2 max pool), Dense 64 ReLU, Dense 4; 5,761,348 parameters at 224x224.",
            224,
            (imageSize, classes) => new ConvStackNetwork("paper-cnn", imageSize, [64, 128, 128], 64, classes)),
        // The paper gives only the ablation variants' parameter counts; these designs are the plausible ones
        // that match them exactly (3x3 'same' convolutions, 2x2 max pooling after each, Dense 64).
        new("paper-cnn-small",
            "Ablation 'CNN-Small': Conv 32-64-128 (3x3 same, ReLU, 2x2 max pool), Dense 64 ReLU, Dense 4; 6,516,100 parameters at 224x224.",
            224,
            (imageSize, classes) => new ConvStackNetwork("paper-cnn-small", imageSize, [32, 64, 128], 64, classes, samePadding: true)),
        new("paper-cnn-deeper",
            "Ablation 'CNN-Deeper': Conv 64-128-128-256 (3x3 same, ReLU, 2x2 max pool), Dense 64 ReLU, Dense 4; 3,729,988 parameters at 224x224.",
            224,
            (imageSize, classes) => new ConvStackNetwork("paper-cnn-deeper", imageSize, [64, 128, 128, 256], 64, classes, samePadding: true)),
    ];

    public static ArchitectureDefinition Get(string name) =>
        All.FirstOrDefault(a => a.Name == name)
        ?? throw new TrainingException($"Unknown architecture '{name}'; known: {string.Join(", ", All.Select(a => a.Name))}.");
}
