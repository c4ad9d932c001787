using System.Text.Json;
using BrainTumor.Models;
using BrainTumor.Tests;

namespace BrainTumor.Training.Tests;

/// <summary>The <c>braintumor-train</c> program as a user runs it: real process, real data, small sizes.</summary>
[Trait("Category", "Slow")]
public sealed class TrainCommandTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("braintumor-cli-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static Task<DotnetProcess.Result> Train(params string[] arguments) =>
        DotnetProcess.RunBuiltAsync("braintumor-train.dll", ["train", .. arguments]);

    private string Checkpoints(string output) => Path.Combine(root, "checkpoints", Path.GetFileName(output));

    private CheckpointState ReadCheckpoint(string output) => JsonSerializer.Deserialize<CheckpointState>(
        File.ReadAllText(Path.Combine(Checkpoints(output), CheckpointState.FileName)), ModelManifest.JsonOptions)!;

    private string[] SmallRun(string output, int epochs, params string[] extra) => SmallRun(output, epochs, 48, extra);

    private string[] SmallRun(string output, int epochs, int imageSize, params string[] extra) =>
    [
        "--data", RepositoryPaths.Dataset, "--out", output, "--checkpoint-dir", Checkpoints(output),
        "--image-size", imageSize.ToString(), "--max-per-class", "10", "--epochs", epochs.ToString(), "--val-fraction", "0.2", .. extra,
    ];

    [DatasetFact]
    public async Task TrainingWritesAModelPackageAndResumesWhereItStopped()
    {
        string output = Path.Combine(root, "models", "tiny");

        var first = await Train(SmallRun(output, 1));
        var second = await Train(SmallRun(output, 2, "--resume"));

        Assert.True(first.ExitCode == 0, first.Error);
        Assert.True(second.ExitCode == 0, second.Error);
        Assert.Contains("resuming from", second.Output);
        Assert.Contains("epoch 2:", second.Output);
        Assert.DoesNotContain("epoch 1:", second.Output);
        var manifest = ModelManifest.Read(Path.Combine(output, ModelManifest.FileName));
        Assert.Equal("tiny", manifest.Name);
        Assert.Equal(2, manifest.Training!.EpochsRun);
        Assert.Equal(48, manifest.Input.Width);
        Assert.InRange(manifest.Metrics!.Accuracy, 0, 1);
        Assert.True(new FileInfo(Path.Combine(output, ModelManifest.OnnxFileName)).Length > 100_000);
        Assert.Equal([1, 2], ReadCheckpoint(output).History.Select(h => h.Epoch));
    }

    [DatasetFact]
    public async Task AResumedRunTrainsExactlyAsAnUninterruptedOne()
    {
        // lite-cnn (64 px at the least) has dropout and the scanner augmentation draws noise: both must repeat after a resume.
        string[] recipe = ["--arch", "lite-cnn", "--augment", "scanner"];
        string whole = Path.Combine(root, "models", "whole"), resumed = Path.Combine(root, "models", "resumed");

        var uninterrupted = await Train(SmallRun(whole, 2, 64, recipe));
        var first = await Train(SmallRun(resumed, 1, 64, recipe));
        var second = await Train(SmallRun(resumed, 2, 64, [.. recipe, "--resume"]));

        Assert.True(uninterrupted.ExitCode == 0, uninterrupted.Error);
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.True(second.ExitCode == 0, second.Error);
        Assert.Equal(
            ReadCheckpoint(whole).History.Select(h => (h.Epoch, h.TrainLoss, h.ValidationLoss)),
            ReadCheckpoint(resumed).History.Select(h => (h.Epoch, h.TrainLoss, h.ValidationLoss)));
    }

    [DatasetFact]
    public async Task APackageTrainedWithTheHeadPipelineRecordsItAndIsFedTheSameWayWhenServed()
    {
        string output = Path.Combine(root, "models", "head");

        var run = await Train(SmallRun(output, 1, "--preprocessing", "head", "--augment", "sequence"));

        Assert.True(run.ExitCode == 0, run.Error);
        var manifest = ModelManifest.Read(Path.Combine(output, ModelManifest.FileName));
        Assert.Equal(Imaging.Preprocessing.HeadStandardised, manifest.Input.Preprocessing);
        Assert.Contains("random grey-level curve", manifest.Training!.Augmentation);
        // The server prepares an upload from the manifest; it must give the model exactly what training gave it.
        using var model = Inference.ClassifierModel.Load(output, new Inference.InferenceOptions());
        var dataset = Data.ImageFolderDataset.Load(RepositoryPaths.Dataset, manifest.Labels, 48, maxPerClass: 3,
            preprocessing: Imaging.Preprocessing.HeadStandardised);
        int stretchDiffers = 0;
        foreach (var sample in dataset.Samples)
        {
            using var decoded = Imaging.ImageLoader.Decode(File.ReadAllBytes(Path.Combine(RepositoryPaths.Dataset, sample.RelativePath)));
            var served = model.Prepare(decoded).Pixels;
            Assert.Equal(sample.Image.Planes, served.Planes);
            Assert.Equal(model.Predict(sample.Image, withGradCam: false).Probabilities,
                model.Predict(served, withGradCam: false).Probabilities);
            if (!Imaging.Preprocessing.Stretch.Prepare(decoded, 48, 48).Pixels.Planes.AsSpan().SequenceEqual(sample.Image.Planes))
            {
                stretchDiffers++;
            }
        }
        Assert.True(stretchDiffers > dataset.Samples.Count / 2,
            "the stretch gives the same input, so this test would not notice a wrong pipeline");
    }

    [Fact]
    public async Task AnUnknownPreprocessingIsNamed()
    {
        var run = await Train(SmallRun(Path.Combine(root, "models", "x"), 1, "--preprocessing", "sharpen"));

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: ", run.Error);
        Assert.Contains("sharpen", run.Error);
    }

    [DatasetFact]
    public async Task AnExistingCheckpointIsNotOverwrittenWithoutResume()
    {
        string output = Path.Combine(root, "models", "tiny");
        Assert.Equal(0, (await Train(SmallRun(output, 1))).ExitCode);

        var again = await Train(SmallRun(output, 1));

        Assert.Equal(1, again.ExitCode);
        Assert.StartsWith("error: ", again.Error);
        Assert.Contains("--resume", again.Error);
    }

    [Fact]
    public async Task AMissingDataFolderEndsWithOneLine()
    {
        string missing = Path.Combine(root, "no-such-folder");

        var result = await Train("--data", missing, "--out", Path.Combine(root, "out"));

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: Data folder '{missing}' does not exist.", result.Error.Trim());
    }

    [Fact]
    public async Task AMalformedOptionEndsWithOneLineAndExitCode2()
    {
        var result = await Train("--data", root, "--out", root, "--epochs", "many");

        Assert.Equal(2, result.ExitCode);
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.StartsWith("error: ", result.Error);
        Assert.Contains("many", result.Error);
    }

    [Fact]
    public async Task AnOutOfRangeOptionIsNamed()
    {
        var result = await Train("--data", root, "--out", root, "--val-fraction", "0.9");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--val-fraction", result.Error);
    }

    [DatasetFact]
    public async Task ATimeBudgetTooShortForOneEpochSaysSo()
    {
        var result = await Train(SmallRun(Path.Combine(root, "models", "tiny"), 3, "--time-budget", "00:00:00.001"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--time-budget", result.Error);
    }
}
