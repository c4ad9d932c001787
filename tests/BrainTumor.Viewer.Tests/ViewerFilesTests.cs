using System.Text.RegularExpressions;
using BrainTumor.Tests;

namespace BrainTumor.Viewer.Tests;

/// <summary>The page's files as committed, without a browser: what the fast loop checks of the viewer.</summary>
public sealed partial class ViewerFilesTests
{
    private static readonly string WebRoot = Path.Combine(RepositoryPaths.Root, "src", "BrainTumor.Api", "wwwroot");

    [Fact]
    public void EveryFileThePageLinksIsInTheWebRoot()
    {
        string page = File.ReadAllText(Path.Combine(WebRoot, "index.html"));
        // Links without an extension are the server's routes (swagger), not files.
        var files = Reference().Matches(page).Select(m => m.Groups[1].Value).Where(link => Path.HasExtension(link)).ToList();

        Assert.Contains("app.js", files);
        Assert.All(files, file => Assert.True(File.Exists(Path.Combine(WebRoot, file)), $"index.html links {file}, which wwwroot lacks"));
    }

    [GeneratedRegex("(?:src|href)=\"([^\"]+)\"")]
    private static partial Regex Reference();
}
