using System.Text.RegularExpressions;
using BrainTumor.Tests;

namespace BrainTumor.Cli.Tests;

/// <summary>
/// The README's commands stay true: the blocks marked <c>&lt;!-- README check --&gt;</c> run as written (with
/// <c>$DATA</c> a small labelled folder and <c>$OUT</c> a scratch folder), and every <c>dotnet run --project</c>
/// it mentions names a project that has the sub-command it uses.
/// </summary>
[Trait("Category", "Slow")]
public sealed partial class ReadmeTests : IDisposable
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));
    private readonly string root = Directory.CreateTempSubdirectory("braintumor-readme-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    public static TheoryData<string> CheckedBlocks()
    {
        var blocks = new TheoryData<string>();
        foreach (Match match in CheckedBlock().Matches(Readme))
        {
            blocks.Add(match.Groups["commands"].Value.Trim());
        }
        return blocks;
    }

    [Theory]
    [MemberData(nameof(CheckedBlocks))]
    public async Task ACheckedBlockRunsAsWritten(string commands)
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

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{result.Output}\n{result.Error}");
    }

    [Fact]
    public void TheReadmeHasCheckedBlocks() => Assert.NotEmpty(CheckedBlocks());

    [Fact]
    public async Task EveryDotnetRunInTheReadmeNamesAProjectAndASubCommandThatExist()
    {
        var uses = DotnetRun().Matches(Readme).Select(m => (Project: m.Groups["project"].Value, Command: m.Groups["command"].Value)).Distinct().ToList();
        Assert.NotEmpty(uses);
        foreach (var project in uses.Select(u => u.Project).Distinct())
        {
            Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.Root, project)), $"README runs {project}, which does not exist.");
        }
        // Only programs with sub-commands are asked for --help: the server would start instead.
        foreach (var project in uses.Where(u => u.Command.Length > 0 && !u.Command.StartsWith('-')).Select(u => u.Project).Distinct())
        {
            var help = await DotnetProcess.RunAsync(RepositoryPaths.Root, "run", "--project", project, "--", "--help");
            foreach (var command in uses.Where(u => u.Project == project && u.Command.Length > 0 && !u.Command.StartsWith('-')).Select(u => u.Command))
            {
                Assert.True(Regex.IsMatch(help.Output, $@"^\s+{Regex.Escape(command)}\b", RegexOptions.Multiline),
                    $"README runs '{project} -- {command}', but its --help lists no such command:\n{help.Output}");
            }
        }
    }

    [GeneratedRegex(@"<!-- README check[^>]*-->\s*```(?:bash)?\n(?<commands>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CheckedBlock();

    [GeneratedRegex(@"dotnet run --project (?<project>(?:src|loadtests)/[\w.]+)(?: -c Release)?(?: --(?: (?<command>[\w-]+))?)?")]
    private static partial Regex DotnetRun();
}
