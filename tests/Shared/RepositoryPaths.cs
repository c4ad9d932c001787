namespace BrainTumor.Tests;

/// <summary>Finds the repository and the shared dataset from wherever the test assembly runs.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The Training split: <c>BRAINTUMOR_DATA</c> if set, else <c>shared/datasets/brain-tumor-mri/Training</c>
    /// beside the repository or beside one of its parent folders.
    /// </summary>
    public static string Dataset { get; } = Environment.GetEnvironmentVariable("BRAINTUMOR_DATA") is { Length: > 0 } configured
        ? configured
        : FindDataset();

    private static string FindDataset()
    {
        string relative = Path.Combine("shared", "datasets", "brain-tumor-mri", "Training");
        for (var directory = new DirectoryInfo(Root).Parent; directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, relative);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return Path.GetFullPath(Path.Combine(Root, "..", relative));
    }

    /// <summary>The Training images that are head CT, not MRI, as paths relative to <see cref="Dataset"/>
    /// (data/modality/training-ct.csv).</summary>
    public static IReadOnlySet<string> TrainingCtSlices { get; } = File.ReadLines(Path.Combine(Root, "data", "modality", "training-ct.csv"))
        .Skip(1)
        .Select(line => line.Split(',')[0].Trim('"').Replace('/', Path.DirectorySeparatorChar))
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>The DICOM test files shipped with Debian's python3-pydicom: material no one here wrote.</summary>
    public static string PydicomCorpus { get; } = "/usr/lib/python3/dist-packages/pydicom/data/test_files";

    /// <summary>A file of <see cref="PydicomCorpus"/>.</summary>
    public static string PydicomFile(string name) => Path.Combine(PydicomCorpus, name);

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
