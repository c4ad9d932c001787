using System.Text.RegularExpressions;
using BrainTumor.Tests;

namespace BrainTumor.Cli.Tests;

/// <summary>Committed manifests and reports name data and models relative to the repository, so that they read the same on any
/// machine.</summary>
public sealed partial class CommittedArtefactsTests
{
    [GeneratedRegex(@"(?<![\w.<>-])(/(home|root|work|tmp|Users|mnt|srv|opt|var)/|[A-Za-z]:\\)")]
    private static partial Regex AbsoluteMachinePath();

    [Theory]
    [InlineData("models")]
    [InlineData("reports")]
    public void NoCommittedManifestOrReportHoldsAnAbsoluteMachinePath(string folder)
    {
        var offenders = Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, folder), "*", SearchOption.AllDirectories)
            .Where(path => Path.GetExtension(path) is ".json" or ".md" or ".csv")
            .SelectMany(path => File.ReadLines(path)
                .Select((line, index) => (Line: line, Number: index + 1))
                .Where(entry => AbsoluteMachinePath().IsMatch(entry.Line))
                .Select(entry => $"{Path.GetRelativePath(RepositoryPaths.Root, path)}:{entry.Number}"))
            .ToList();

        Assert.True(offenders.Count == 0, $"absolute machine paths in: {string.Join(", ", offenders.Take(10))}");
    }
}
