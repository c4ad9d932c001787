using System.Text.RegularExpressions;
using BrainTumor.Tests;

namespace BrainTumor.Cli.Tests;

/// <summary>
/// The README and the pages under <c>docs/</c> stay true: the blocks marked <c>&lt;!-- README check --&gt;</c> run as written
/// (with <c>$DATA</c> a small labelled folder and <c>$OUT</c> a scratch folder), every <c>dotnet run --project</c> they
/// mention names a project that has the sub-command it uses, and every relative link points at a file (and heading) that
/// exists.
/// </summary>
[Trait("Category", "Slow")]
public sealed partial class ReadmeTests : IDisposable
{
    /// <summary><c>README.md</c> and every page under <c>docs/</c>, relative to the repository, with '/' separators.</summary>
    private static readonly string[] Documents =
    [
        "README.md",
        .. Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, "docs"), "*.md", SearchOption.AllDirectories)
            .Select(file => Path.GetRelativePath(RepositoryPaths.Root, file).Replace('\\', '/'))
            .Order(StringComparer.Ordinal),
    ];

    private readonly string root = Directory.CreateTempSubdirectory("braintumor-readme-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static string Read(string document) => File.ReadAllText(Path.Combine(RepositoryPaths.Root, document));

    /// <summary>Each checked block with the document it is in.</summary>
    public static TheoryData<string, string> CheckedBlocks()
    {
        var blocks = new TheoryData<string, string>();
        foreach (var document in Documents)
        {
            foreach (Match match in CheckedBlock().Matches(Read(document)))
            {
                blocks.Add(document, match.Groups["commands"].Value.Trim());
            }
        }
        return blocks;
    }

    [DatasetTheory]
    [MemberData(nameof(CheckedBlocks))]
    public async Task ACheckedBlockRunsAsWritten(string document, string commands)
    {
        string data = Path.Combine(root, "data");
        foreach (var label in new[] { "glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor" })
        {
            Directory.CreateDirectory(Path.Combine(data, label));
            for (int i = 0; i < 2; i++)
            {
                File.Copy(RepositoryPaths.DatasetImage(label, i), Path.Combine(data, label, $"{i}.jpg"));
            }
        }

        var result = await DotnetProcess.RunProgramAsync("bash", RepositoryPaths.Root,
            new Dictionary<string, string> { ["DATA"] = data, ["OUT"] = Path.Combine(root, "out") }, "-euo", "pipefail", "-c", commands);

        Assert.True(result.ExitCode == 0, $"{document}: exit {result.ExitCode}\n{result.Output}\n{result.Error}");
    }

    [Fact]
    public void TheReadmeAndTheDocsHaveCheckedBlocks() => Assert.NotEmpty(CheckedBlocks());

    [Fact]
    public void TheDocsFolderHasPagesBesideTheReadme() =>
        Assert.Contains(Documents, document => document.StartsWith("docs/", StringComparison.Ordinal));

    [Fact]
    public async Task EveryDotnetRunInTheReadmeAndTheDocsNamesAProjectAndASubCommandThatExist()
    {
        var uses = Documents
            .SelectMany(document => DotnetRun().Matches(Read(document))
                .Select(m => (Document: document, Project: m.Groups["project"].Value, Command: m.Groups["command"].Value)))
            .Distinct()
            .ToList();
        Assert.NotEmpty(uses);
        foreach (var use in uses.DistinctBy(u => u.Project))
        {
            Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.Root, use.Project)),
                $"{use.Document} runs {use.Project}, which does not exist.");
        }
        // Only programs with sub-commands are asked for --help: the server would start instead.
        var subCommands = uses.Where(u => u.Command.Length > 0 && !u.Command.StartsWith('-')).ToList();
        foreach (var project in subCommands.Select(u => u.Project).Distinct())
        {
            var help = await DotnetProcess.RunAsync(RepositoryPaths.Root, "run", "--project", project, "--", "--help");
            foreach (var use in subCommands.Where(u => u.Project == project))
            {
                Assert.True(Regex.IsMatch(help.Output, $@"^\s+{Regex.Escape(use.Command)}\b", RegexOptions.Multiline),
                    $"{use.Document} runs '{project} -- {use.Command}', but its --help lists no such command:\n{help.Output}");
            }
        }
    }

    [Fact]
    public void EveryRelativeLinkInTheReadmeAndTheDocsPointsAtAFileAndAHeadingThatExist()
    {
        var broken = new List<string>();
        int checkedLinks = 0;
        foreach (var document in Documents)
        {
            string folder = Path.GetDirectoryName(Path.Combine(RepositoryPaths.Root, document))!;
            foreach (Match link in MarkdownLink().Matches(Prose(Read(document))))
            {
                string target = link.Groups["target"].Value;
                if (Uri.TryCreate(target, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https" or "mailto")
                {
                    continue;
                }
                checkedLinks++;
                int hash = target.IndexOf('#');
                string path = hash < 0 ? target : target[..hash];
                string? heading = hash < 0 ? null : target[(hash + 1)..];
                string file = path.Length == 0
                    ? Path.Combine(RepositoryPaths.Root, document)
                    : Path.GetFullPath(Path.Combine(folder, path));
                if (!File.Exists(file) && !Directory.Exists(file))
                {
                    broken.Add($"{document}: {target} (no such file)");
                }
                else if (heading is not null && file.EndsWith(".md", StringComparison.Ordinal)
                    && !HeadingSlugs(File.ReadAllText(file)).Contains(heading))
                {
                    broken.Add($"{document}: {target} (no such heading)");
                }
            }
        }
        Assert.True(checkedLinks > 0, "No relative link was found; the link pattern no longer matches the documents.");
        Assert.True(broken.Count == 0, "Broken links:\n" + string.Join("\n", broken));
    }

    /// <summary>The text outside fenced code blocks and inline code, where a link can be.</summary>
    private static string Prose(string markdown) => InlineCode().Replace(FencedBlock().Replace(markdown, ""), "``");

    /// <summary>The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static HashSet<string> HeadingSlugs(string markdown) =>
        Heading().Matches(FencedBlock().Replace(markdown, ""))
            .Select(m => SlugDropped().Replace(m.Groups["title"].Value.Trim().ToLowerInvariant(), "").Replace(' ', '-'))
            .ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex(@"<!-- README check[^>]*-->\s*```(?:bash)?\n(?<commands>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CheckedBlock();

    [GeneratedRegex(@"dotnet run --project (?<project>(?:src|loadtests)/[\w.]+)(?: -c Release)?(?: --(?: (?<command>[\w-]+))?)?")]
    private static partial Regex DotnetRun();

    [GeneratedRegex(@"!?\[[^\]]*\]\((?<target>[^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex FencedBlock();

    [GeneratedRegex(@"`[^`\n]+`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"^#{1,6}[ \t]+(?<title>.+?)[ \t]*#*[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\p{L}\p{Mn}\p{Nd}\p{Pc} -]")]
    private static partial Regex SlugDropped();
}
