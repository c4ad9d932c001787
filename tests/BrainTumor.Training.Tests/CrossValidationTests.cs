using BrainTumor.Evaluation;
using BrainTumor.Tests;

namespace BrainTumor.Training.Tests;

[Trait("Category", "Slow")]
public sealed class CrossValidationTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("braintumor-cv-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private (CrossValidation Run, StringWriter Log) Create(int epochs = 1)
    {
        var options = new TrainingOptions
        {
            Architecture = "paper-cnn",
            DataDirectory = RepositoryPaths.Dataset,
            OutputDirectory = Path.Combine(root, "report"),
            CheckpointDirectory = Path.Combine(root, "checkpoints"),
            ImageSize = 48,
            MaxImagesPerClass = 12,
            Epochs = epochs,
        };
        var log = new StringWriter();
        return (new CrossValidation(options, 3, Path.Combine(root, "report"), new ProgressReporter(log, interactive: false)), log);
    }

    [DatasetFact]
    public void EveryImageIsTestedOnceAndTheReportIsWritten()
    {
        var report = Create().Run.Run();

        Assert.True(report.Complete);
        Assert.Equal(48, report.Folds.Sum(f => f.Truth.Length));
        Assert.All(report.Folds, f => Assert.Equal(f.Truth.Length, f.Probabilities.Length));
        Assert.Equal(3, report.Summaries()["accuracy"].N);
        string[] files = ["report.md", "report.json", "fold-1.json", "fold-3.json", "confusion-matrix.png", "learning-curves-loss.png"];
        foreach (var file in files)
        {
            Assert.True(File.Exists(Path.Combine(root, "report", file)), file);
        }
        Assert.Contains("not** the paper's 224x224", File.ReadAllText(Path.Combine(root, "report", "report.md")));
    }

    [DatasetFact]
    public void ARepeatedCommandOnlyRunsTheFoldsThatAreMissing()
    {
        var first = Create().Run.Run();
        File.Delete(Path.Combine(root, "report", "fold-2.json"));
        Directory.Delete(Path.Combine(root, "checkpoints", "fold-2"), recursive: true);

        var (again, log) = Create();
        var report = again.Run();

        Assert.Equal(3, report.Folds.Count);
        Assert.Contains("fold 2/3", log.ToString());
        Assert.DoesNotContain("fold 1/3", log.ToString());
        Assert.DoesNotContain("fold 3/3", log.ToString());
        Assert.Equal(first.Folds[0].Probabilities, report.Folds[0].Probabilities);
    }

    [DatasetFact]
    public void ContinuingARunWithOtherOptionsIsRefusedAndKeepsItsReport()
    {
        Create().Run.Run();
        string reportFile = Path.Combine(root, "report", "report.json");
        string before = File.ReadAllText(reportFile);

        var error = Assert.Throws<TrainingException>(() => Create(epochs: 2).Run.Run());

        Assert.Contains("MaxEpochs: 1, now 2", error.Message);
        Assert.Equal(before, File.ReadAllText(reportFile));
    }

    [DatasetFact]
    public void RewritingTheReportOfAFinishedRunKeepsTheMachineThatTrainedIt()
    {
        Create().Run.Run();
        string reportFile = Path.Combine(root, "report", "report.json");
        string machine = CrossValidationReport.Read(Path.Combine(root, "report"))!.Setup.Machine;
        File.WriteAllText(reportFile, File.ReadAllText(reportFile).Replace(machine, "an earlier session's machine"));

        var (again, log) = Create();
        again.Run();

        Assert.DoesNotContain("fold 1/3", log.ToString());
        Assert.Equal("an earlier session's machine", CrossValidationReport.Read(Path.Combine(root, "report"))!.Setup.Machine);
        Assert.Contains("latest session on an earlier session's machine", File.ReadAllText(Path.Combine(root, "report", "report.md")));
    }
}
