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
    ];

    public static ArchitectureDefinition Get(string name) =>
        All.FirstOrDefault(a => a.Name == name)
        ?? throw new TrainingException($"Unknown architecture '{name}'; known: {string.Join(", ", All.Select(a => a.Name))}.");
}
