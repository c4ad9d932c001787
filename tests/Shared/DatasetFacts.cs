namespace BrainTumor.Tests;

/// <summary>
/// A fact that reads the dataset's images, skipped with the reason when they are not there, so that the fast loop runs on a
/// fresh clone; CI has the dataset and runs it.
/// </summary>
public sealed class DatasetFactAttribute : FactAttribute
{
    public DatasetFactAttribute()
    {
        Skip = DatasetAbsence.Reason;
    }
}

/// <summary>A theory that reads the dataset's images, skipped with the reason when they are not there
/// (<see cref="DatasetFactAttribute"/>).</summary>
public sealed class DatasetTheoryAttribute : TheoryAttribute
{
    public DatasetTheoryAttribute()
    {
        Skip = DatasetAbsence.Reason;
    }
}

public static class DatasetAbsence
{
    /// <summary>Why a dataset test cannot run here; null when the Training images are there.</summary>
    public static string? Reason { get; } = Directory.Exists(RepositoryPaths.Dataset)
        ? null
        : $"needs the dataset's Training images at {RepositoryPaths.Dataset} (or set BRAINTUMOR_DATA)";
}
