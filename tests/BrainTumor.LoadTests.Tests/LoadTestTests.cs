using System.Text.Json;
using BrainTumor.Tests;

namespace BrainTumor.LoadTests.Tests;

public sealed class LoadTestTests : IDisposable
{
    private readonly string results = Directory.CreateTempSubdirectory("braintumor-loadtest-").FullName;

    public void Dispose() => Directory.Delete(results, recursive: true);

    private LoadTestOptions Options(Scenario scenario, Uri? url = null) => new()
    {
        Url = url,
        Scenario = scenario,
        Levels = [2, 4],
        RequestsPerLevel = 40,
        WarmupRequests = 4,
        ImageFolder = PublicSlice.Folder,
        ResultsFolder = results,
        RepositoryRoot = RepositoryPaths.Root,
    };

    [DatasetFact]
    [Trait("Category", "Slow")]
    public async Task TheCeilingReportPutsTheServerBesideTheInProcessRatesAndNamesTheCpu()
    {
        var report = await Ceiling.RunAsync(["lite-cnn"], RepositoryPaths.Dataset, RepositoryPaths.Root, results, secondsPerRate: 0.5,
            serverRequests: 20, TextWriter.Null);

        var row = Assert.Single(report.Rows);
        Assert.Equal("lite-cnn", row.Model);
        // The ceiling decodes, prepares and runs, so it is slower than decoding or running alone.
        Assert.InRange(row.Ceiling, 1, Math.Min(row.Decode, row.RunPredict));
        Assert.True(row.ServerPredict > 0 && row.ServerGradCam > 0 && row.ServerPeakRssMb > 0);
        Assert.Equal(row.ServerPredict / row.Ceiling, row.ShareOfCeiling);
        // The server did the ceiling's work and more for each request: its CPU time per request is real and not tiny.
        Assert.InRange(row.ServerCpuMsPerPredict, 0.1, 10_000);
        Assert.True(row.CpuShareOfCeiling > 0);
        // The load generator's own CPU is measured, so the share it leaves within reach is below the whole ceiling.
        Assert.True(row.ClientCpuMsPerPredict > 0);
        Assert.InRange(row.ReachableShare, 0.01, 0.9999);
        string markdown = File.ReadAllText(Path.Combine(Directory.GetDirectories(results, "ceiling-*").Single(), "report.md"));
        Assert.Contains(BrainTumor.Imaging.Machine.Description, markdown);
        Assert.Contains("| `lite-cnn` |", markdown);
    }

    [DatasetFact]
    [Trait("Category", "Slow")]
    public void TheStageTimesCoverEveryStepOfAGradCamRequestAndAreWrittenDown()
    {
        var report = Stages.Run("lite-cnn", RepositoryPaths.Dataset, RepositoryPaths.Root, results, rounds: 1, TextWriter.Null);

        Assert.Equal(10, report.Stages.Count);
        Assert.All(report.Stages, stage => Assert.True(stage.MeanMs > 0, $"{stage.Stage} took no time"));
        Assert.Equal("PNG encoded", report.Stages[^1].Stage);
        string markdown = File.ReadAllText(Path.Combine(Directory.GetDirectories(results, "stages-lite-cnn-*").Single(), "report.md"));
        Assert.Contains("| ONNX Runtime run (predict) |", markdown);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task ACiSizedRunAgainstAServerItStartsHasNoFailuresAndAWellFormedReport()
    {
        var report = await LoadTest.RunAsync(Options(Scenario.Mixed), TextWriter.Null);

        Assert.Equal([2, 4], report.Levels.Select(l => l.Users));
        Assert.All(report.Levels, level =>
        {
            Assert.Equal(40, level.Succeeded);
            Assert.Equal(0, level.Failed);
            Assert.True(level.Throughput > 0);
            Assert.True(level.P50Ms <= level.P95Ms && level.P95Ms <= level.P99Ms && level.P99Ms <= level.MaxMs);
            Assert.True(level.ServerPeakRssMb > 0);
        });
        string stem = Path.Combine(results, Path.GetFileNameWithoutExtension(Directory.GetFiles(results, "*.json").Single()));
        var json = JsonDocument.Parse(File.ReadAllText(stem + ".json")).RootElement;
        Assert.Equal("mixed", json.GetProperty("scenario").GetString());
        Assert.Equal(2, json.GetProperty("levels").GetArrayLength());
        Assert.Contains("| 1 | 4 | 40 |", File.ReadAllText(stem + ".md"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(stem + ".png")[..4]);
    }

    [Fact]
    public async Task ARemoteTargetNeedsAllowRemote()
    {
        var error = await Assert.ThrowsAsync<LoadTestException>(() =>
            LoadTest.RunAsync(Options(Scenario.Predict, new Uri("http://203.0.113.7:8080")), TextWriter.Null));

        Assert.Contains("--allow-remote", error.Message);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/", "does not answer")]
    [InlineData("localhost:8080", "--url")]
    [InlineData("not a url", "--url")]
    public async Task TheCommandLineTakesAUrlAndExplainsBadOnesInOneLine(string url, string expected)
    {
        var result = await DotnetProcess.RunBuiltAsync("BrainTumor.LoadTests.dll",
            "--url", url, "--levels", "1", "--requests", "1", "--images", PublicSlice.Folder, "--out", results);

        Assert.Equal(1, result.ExitCode);
        string error = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", error);
        Assert.Contains(expected, error);
    }

    [Fact]
    public async Task AServerThatDoesNotAnswerIsReportedClearly()
    {
        var error = await Assert.ThrowsAsync<LoadTestException>(() =>
            LoadTest.RunAsync(Options(Scenario.Predict, new Uri("http://127.0.0.1:9")), TextWriter.Null));

        Assert.Contains("does not answer", error.Message);
    }
}
