namespace BrainTumor.Tests;

/// <summary>Finds the repository and the shared dataset from wherever the test assembly runs.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The Training split: <c>BRAINTUMOR_DATA</c> if set, else <c>../shared/datasets/brain-tumor-mri/Training</c>.</summary>
    public static string Dataset { get; } = Environment.GetEnvironmentVariable("BRAINTUMOR_DATA") is { Length: > 0 } configured
        ? configured
        : Path.GetFullPath(Path.Combine(Root, "..", "shared", "datasets", "brain-tumor-mri", "Training"));

    public static string DatasetImage(string label, int index)
    {
        if (!Directory.Exists(Dataset))
        {
            throw new DirectoryNotFoundException($"The dataset is not at {Dataset}; set BRAINTUMOR_DATA to its Training folder.");
        }
        return Directory.EnumerateFiles(Path.Combine(Dataset, label)).Order(StringComparer.Ordinal).ElementAt(index);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "BrainTumor.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No BrainTumor.sln above {AppContext.BaseDirectory}.");
    }
}
