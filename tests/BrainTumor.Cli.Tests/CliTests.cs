using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using BrainTumor.Evaluation;
using BrainTumor.Imaging;
using BrainTumor.Inference;
using BrainTumor.Models;
using BrainTumor.Onnx;
using BrainTumor.Tests;
using SkiaSharp;

namespace BrainTumor.Cli.Tests;

public sealed class CliTests : IDisposable
{
    private static readonly string Model = Path.Combine(RepositoryPaths.Root, "models", "custom-cnn");
    private static readonly string LiteModel = Path.Combine(RepositoryPaths.Root, "models", "lite-cnn");
    private static readonly string[] Labels = ["glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor"];
    private readonly string root = Directory.CreateTempSubdirectory("braintumor-cli-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string LabelledFolder(int perClass) => LabelledFolder("data", 0, perClass);

    /// <summary>A copy of the manifest of a shipped package, which record-cv may change.</summary>
    private string ManifestCopy(string package)
    {
        string folder = Path.Combine(root, Path.GetFileName(package));
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(package, ModelManifest.FileName), Path.Combine(folder, ModelManifest.FileName));
        return folder;
    }

    /// <summary>A labelled folder of the images from <paramref name="first"/> on, <paramref name="perClass"/> per class.</summary>
    private string LabelledFolder(string name, int first, int perClass)
    {
        string folder = Path.Combine(root, name);
        foreach (var label in Labels)
        {
            Directory.CreateDirectory(Path.Combine(folder, label));
            for (int i = first; i < first + perClass; i++)
            {
                File.Copy(RepositoryPaths.DatasetImage(label, i), Path.Combine(folder, label, $"{i}.jpg"));
            }
        }
        return folder;
    }

    /// <summary>A copy of a shipped package, every file, which a command may change.</summary>
    private string PackageCopy(string shipped)
    {
        string package = Path.Combine(root, "package");
        Directory.CreateDirectory(package);
        foreach (string file in Directory.GetFiles(shipped))
        {
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)));
        }
        return package;
    }

    /// <summary>The shipped lite-cnn as an imported package would be: no training provenance, no guard yet.</summary>
    private string ImportedLiteCnn()
    {
        string package = Path.Combine(root, "imported");
        Directory.CreateDirectory(package);
        File.Copy(Path.Combine(LiteModel, ModelManifest.OnnxFileName), Path.Combine(package, ModelManifest.OnnxFileName));
        var shipped = ModelManifest.Read(Path.Combine(LiteModel, ModelManifest.FileName));
        (shipped with { Training = null, OutOfDistribution = null }).Write(Path.Combine(package, ModelManifest.FileName));
        return package;
    }

    [DatasetFact]
    public void FitOodGivesAPackageWithoutATrainingSplitAGuardFittedOnTheGivenDataAndMeasuresIt()
    {
        string package = ImportedLiteCnn();
        string reports = Path.Combine(root, "ood-report");

        var guard = FitOutOfDistributionCommand.Run(package, LabelledFolder("fit", 0, 12), LabelledFolder("external", 12, 3), reports,
            TextWriter.Null);

        Assert.Contains("records no training split", guard.FittedOn);
        Assert.True(File.Exists(Path.Combine(package, guard.StatisticsFile)));
        Assert.True(File.Exists(Path.Combine(reports, "report.md")));
        var written = ModelManifest.Read(Path.Combine(package, ModelManifest.FileName)).OutOfDistribution!;
        Assert.Equal(guard.Threshold, written.Threshold);
        Assert.Equal(guard.Evaluation!.Groups, written.Evaluation!.Groups);
        var groups = guard.Evaluation!.Groups.Select(g => g.Group).ToList();
        Assert.Equal(["non-brain medical", "photographs", "synthetic", "implausible slices"], groups);
        // Even fitted on 42 images, the synthetic images are far from every slice.
        Assert.True(guard.Evaluation.Groups.Single(g => g.Group == "synthetic").Auroc > 0.9);
        using var model = ClassifierModel.Load(package, new InferenceOptions());
        using var slice = ImageLoader.Decode(File.ReadAllBytes(RepositoryPaths.DatasetImage("no_tumor", 40)));
        Assert.NotNull(model.Predict(model.Prepare(slice).Pixels, withGradCam: false).InDistribution);
    }

    [DatasetFact]
    public void FitOodScoresAnnotatedCtSlicesAsTheirOwnGroupAndGivesTheAcceptancePerPlane()
    {
        string package = ImportedLiteCnn();
        string reports = Path.Combine(root, "ood-annotated");
        string external = LabelledFolder("external", 12, 3);
        string ct = Path.Combine(external, "no_tumor", "ct.jpg");
        File.Copy(Path.Combine(RepositoryPaths.Dataset, "no_tumor", "image(20).jpg"), ct);
        string Sha(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
        string axial = Path.Combine(external, "glioma_tumor", "12.jpg"), coronal = Path.Combine(external, "glioma_tumor", "13.jpg");
        string annotations = Path.Combine(root, "annotations.csv");
        File.WriteAllLines(annotations,
        [
            "file,sha256,modality,plane", $"ct.jpg,{Sha(ct)},CT,axial", $"12.jpg,{Sha(axial)},,axial",
            $"\"13.jpg, again\",{Sha(coronal)},,coronal",
        ]);

        var guard = FitOutOfDistributionCommand.Run(package, LabelledFolder("fit", 0, 12), external, reports, TextWriter.Null,
            annotationFiles: [annotations]);

        var headCt = guard.Evaluation!.Groups.Single(g => g.Group == "head CT, external");
        Assert.Equal((1, 1.0), (headCt.Images, headCt.Flagged));
        string report = File.ReadAllText(Path.Combine(reports, "report.md"));
        Assert.Contains("| external (in distribution) | 12 |", report);
        Assert.Contains("| external (in distribution) | axial | 1 |", report);
        Assert.Contains("| external (in distribution) | coronal | 1 |", report);
    }

    [DatasetFact]
    public void FitOodRefusesTheTrainingDataAsTheExternalSet()
    {
        string package = ImportedLiteCnn();
        string data = LabelledFolder("fit", 0, 3);

        var refusal = Assert.Throws<CliException>(() =>
            FitOutOfDistributionCommand.Run(package, data, data, Path.Combine(root, "r"), TextWriter.Null));

        Assert.Contains("external set must come from elsewhere", refusal.Message);
    }

    [DatasetFact]
    [Trait("Category", "Slow")]
    public void GradCamChecksRandomiseTheModelFromTheTopAndRecordTheVerdictInTheManifest()
    {
        string package = PackageCopy(LiteModel);

        EvaluateCommand.Run(package, LabelledFolder(3), Path.Combine(root, "report"), EvaluationSplit.All, TextWriter.Null,
            gradCamChecks: true);

        var all = ModelManifest.Read(Path.Combine(package, ModelManifest.FileName)).GradCamChecks!;
        Assert.Equal(["gradcam", "hirescam", "gradcampp"], all.Select(c => c.Method));
        var checks = all[0];
        Assert.Equal(12, checks.Images);
        Assert.Equal([1, 2, 3, 4, 5, 6], checks.Randomisation.Select(s => s.LayersRandomised));
        Assert.Equal("classifier", checks.Randomisation[0].Layer);
        // lite-cnn's maps lose their likeness to the original once its classifier is re-initialised.
        Assert.True(checks.Randomisation[0].MeanRankCorrelation < 0.3, $"correlation {checks.Randomisation[0].MeanRankCorrelation}");
        Assert.InRange(checks.OutsideHead, 0, 1);
        Assert.Equal(checks.Passed, checks.Failures.Count == 0);
        Assert.Contains("Sanity checks of gradcam maps", File.ReadAllText(Path.Combine(root, "report", "report.md")));
        // lite-cnn's head is a global average pool, under which HiResCAM and Grad-CAM are the same map.
        Assert.Equal(checks.ClassSensitivity, all[1].ClassSensitivity, 3);
        var faithfulness = checks.Faithfulness!;
        Assert.All(
            [faithfulness.InsertionArea, faithfulness.InsertionAreaShuffled, faithfulness.DeletionArea, faithfulness.DeletionAreaShuffled],
            area => Assert.InRange(area, 0, 1));
        Assert.Equal(faithfulness.InsertionGain < 0.05, checks.Failures.Any(f => f.StartsWith("inserting")));
    }

    [Fact]
    public void RecordCvWritesTheRunsSummaryIntoTheManifest()
    {
        string package = ManifestCopy(Model);
        string report = Path.Combine(RepositoryPaths.Root, "reports", "cv-paper-cnn-default");

        var recorded = RecordCrossValidationCommand.Run(package, report, TextWriter.Null);

        var saved = CrossValidationReport.Read(report)!;
        var written = ModelManifest.Read(Path.Combine(package, ModelManifest.FileName)).CrossValidation;
        Assert.Equal(recorded, written);
        Assert.Equal(saved.FoldsDone, written!.FoldsDone);
        Assert.Equal(saved.Summaries["accuracy"].Mean, written.Accuracy, 4);
    }

    [Fact]
    public void RecordCvRefusesARunOfAnotherRecipe()
    {
        string package = ManifestCopy(LiteModel);
        // The previous lite-cnn recipe: the whole image stretched, flips and rotations only.
        string report = Path.Combine(RepositoryPaths.Root, "reports", "cv-lite-cnn-default");

        var refusal = Assert.Throws<CliException>(() => RecordCrossValidationCommand.Run(package, report, TextWriter.Null));

        Assert.Contains("input pipeline", refusal.Message);
        Assert.Contains("augmentation", refusal.Message);
        Assert.Equal(ModelManifest.Read(Path.Combine(LiteModel, ModelManifest.FileName)).CrossValidation,
            ModelManifest.Read(Path.Combine(package, ModelManifest.FileName)).CrossValidation);
    }

    [Fact]
    public void RecordCvAcceptsALesionGuidedRunGivenMoreBoxFilesButNotOneOfAnotherWeight()
    {
        string package = ManifestCopy(LiteModel);
        string manifestPath = Path.Combine(package, ModelManifest.FileName);
        var manifest = ModelManifest.Read(manifestPath);
        string Guided(double weight, string files) => manifest.Training!.Optimizer +
            $", plus {weight} x the share of the true class's Grad-CAM outside the hand-drawn lesion box " +
            $"({files}; {TrainingProvenance.LesionBoxesNote})";
        (manifest with { Training = manifest.Training! with { Optimizer = Guided(0.1, "training-train.csv") } }).Write(manifestPath);

        RecordCrossValidationCommand.Run(package, CvCopy("same", Guided(0.1, "training-train.csv, training-heldout.csv")),
            TextWriter.Null);
        var refusal = Assert.Throws<CliException>(() => RecordCrossValidationCommand.Run(package,
            CvCopy("heavier", Guided(1, "training-train.csv, training-heldout.csv")), TextWriter.Null));

        Assert.Contains("optimiser", refusal.Message);
    }

    /// <summary>A copy of the default recipe's cv report whose setup records <paramref name="optimizer"/>.</summary>
    private string CvCopy(string name, string optimizer)
    {
        string source = Path.Combine(RepositoryPaths.Root, "reports", "cv-lite-cnn-default-head-scanner");
        string folder = Path.Combine(root, "cv-" + name);
        Directory.CreateDirectory(folder);
        foreach (string file in Directory.GetFiles(source, "*.json"))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }
        string reportPath = Path.Combine(folder, "report.json");
        var report = JsonNode.Parse(File.ReadAllText(reportPath))!;
        report["setup"]!["optimizer"] = optimizer;
        File.WriteAllText(reportPath, report.ToJsonString());
        return folder;
    }

    [Fact]
    public void AnEnsemblesCrossValidationAveragesItsMembersCalibratedFoldsAndItsPackageAcceptsIt()
    {
        string[] members = [Path.Combine(RepositoryPaths.Root, "reports", "cv-lite-cnn-default-head-scanner"),
            Path.Combine(RepositoryPaths.Root, "reports", "cv-lite-cnn-default-head-histogram")];
        string folder = Path.Combine(root, "cv-ensemble");

        var report = EnsembleCrossValidationCommand.Run(members, folder, TextWriter.Null);

        Assert.Equal(5, report.Folds.Count);
        var memberFolds = members.Select(m => JsonSerializer.Deserialize<FoldData>(
            File.ReadAllText(Path.Combine(m, "fold-2.json")), ModelManifest.JsonOptions)!).ToList();
        var calibrated = memberFolds.Select(f => Calibration.Apply(f.Probabilities, f.Temperature)).ToList();
        var fold = report.Folds[1];
        Assert.Equal(memberFolds[0].Truth, fold.Truth);
        for (int i = 0; i < fold.Truth.Length; i += 37)
        {
            for (int c = 0; c < Labels.Length; c++)
            {
                Assert.Equal((calibrated[0][i][c] + calibrated[1][i][c]) / 2, fold.Probabilities[i][c], 1e-6);
            }
        }
        string package = ManifestCopy(Path.Combine(RepositoryPaths.Root, "models", "lite-cnn-ensemble"));
        Assert.Equal(report.Summaries()["accuracy"].Mean, RecordCrossValidationCommand.Run(package, folder, TextWriter.Null).Accuracy, 4);
        var refusal = Assert.Throws<CliException>(() => RecordCrossValidationCommand.Run(package, members[0], TextWriter.Null));
        Assert.Contains("architecture", refusal.Message);
    }

    [Fact]
    public void AnEnsembleRefusesMembersThatReadAnotherInput()
    {
        var refusal = Assert.Throws<CliException>(() => EnsembleCommand.Join(
            [LiteModel, Path.Combine(RepositoryPaths.Root, "models", "resnet50")], "mixed", Path.Combine(root, "mixed"),
            RepositoryPaths.Dataset, TextWriter.Null));

        Assert.Contains("reads another input", refusal.Message);
        Assert.False(Directory.Exists(Path.Combine(root, "mixed")));
    }

    [Fact]
    public void QuantizeNamesAPercentileOutOfRange()
    {
        var error = Assert.Throws<CliException>(() =>
            QuantizeCommand.Run(LiteModel, root, Path.Combine(root, "int8"), CalibrationMethod.Percentile, 40, 16, TextWriter.Null));

        Assert.Contains("--percentile", error.Message);
    }

    [DatasetFact]
    [Trait("Category", "Slow")]
    public void QuantisingLiteCnnKeepsItsHeldOutAccuracyWithinHalfAPointAndItsMapsAlike()
    {
        string output = Path.Combine(root, "lite-cnn-int8");

        QuantizeCommand.Run(LiteModel, RepositoryPaths.Dataset, output, CalibrationMethod.MinMax, 99.99, 32, TextWriter.Null);

        var manifest = ModelManifest.Read(Path.Combine(output, ModelManifest.FileName));
        Assert.Equal("lite-cnn-int8", manifest.Name);
        var agreement = manifest.Quantization!.Agreement;
        Assert.Equal(manifest.Training!.Split.ValidationImages, agreement.Images);
        Assert.InRange(agreement.FloatAccuracy - agreement.QuantizedAccuracy, -0.005, 0.005);
        Assert.InRange(agreement.CamCorrelation, 0.97, 1);
        Assert.Equal(agreement.QuantizedAccuracy, manifest.Metrics!.Accuracy);
        Assert.Null(manifest.CrossValidation);
        long floatBytes = new FileInfo(Path.Combine(LiteModel, ModelManifest.OnnxFileName)).Length;
        Assert.InRange(new FileInfo(Path.Combine(output, ModelManifest.OnnxFileName)).Length, 1, floatBytes / 2);
    }

    [DatasetFact]
    public void EvaluateWritesAReportWhoseNumbersAgreeWithEachOtherAndPrintsTheHeadlineFirst()
    {
        string output = Path.Combine(root, "report");
        using var log = new StringWriter();

        var report = EvaluateCommand.Run(Model, LabelledFolder(3), output, EvaluationSplit.All, log);

        Assert.StartsWith("custom-cnn on 12 images: accuracy ", log.ToString());

        var metrics = report.Metrics;
        Assert.Equal(12, metrics.Classification.Count);
        Assert.Equal(12, metrics.Classification.ConfusionMatrix.Sum(row => row.Sum()));
        Assert.Equal(Enumerable.Range(0, 4).Sum(i => metrics.Classification.ConfusionMatrix[i][i]) / 12.0, metrics.Classification.Accuracy,
            12);
        Assert.InRange(metrics.MacroAuc, 0, 1);
        foreach (var file in new[] { "report.md", "report.json", "confusion-matrix.png", "roc-curves.png", "reliability.png" })
        {
            Assert.True(new FileInfo(Path.Combine(output, file)).Length > 100, file);
        }
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json"))).RootElement;
        Assert.Equal("custom-cnn", json.GetProperty("model").GetString());
        Assert.Contains("0.739 ± 0.039", File.ReadAllText(Path.Combine(output, "report.md")));
    }

    /// <summary>
    /// Two models on the same 8 images: each evaluation writes its predictions, the second is paired with the first image by
    /// image, and leaving two files out gives a second set of figures on 6.
    /// </summary>
    [DatasetFact]
    public void EvaluationsArePairedImageByImageAndCanLeaveFilesOut()
    {
        string data = LabelledFolder(2), first = Path.Combine(root, "first"), second = Path.Combine(root, "second");
        var log = new StringWriter();

        EvaluateCommand.Run(Model, data, first, EvaluationSplit.All, TextWriter.Null);
        var report = EvaluateCommand.Run(LiteModel, data, second, EvaluationSplit.All, log,
            excluded: ["glioma_tumor/0.jpg", "no_tumor/1.jpg"], pairedWith: first);

        Dictionary<string, bool> Right(string folder) => File.ReadAllLines(Path.Combine(folder, EvaluationPredictions.FileName)).Skip(1)
            .Select(r => r.Split(',')).ToDictionary(f => f[0], f => f[1] == f[2]);
        var firstRight = Right(first);
        var secondRight = Right(second);
        Assert.Equal(8, firstRight.Count);
        Assert.StartsWith("file,truth,predicted,glioma_tumor,",
            File.ReadLines(Path.Combine(first, EvaluationPredictions.FileName)).First());
        int onlySecond = secondRight.Count(p => p.Value && !firstRight[p.Key]);
        int onlyFirst = secondRight.Count(p => !p.Value && firstRight[p.Key]);
        Assert.Contains(report.Notes, n => n.StartsWith("All 8 images: accuracy ") && n.Contains("95% Wilson"));
        Assert.Contains(report.Notes,
            n => n.StartsWith("Without the 2 excluded images (glioma_tumor/0.jpg, no_tumor/1.jpg): accuracy ") && n.Contains("of 6)"));
        var paired = Assert.Single(report.Notes, n => n.StartsWith("Paired with the evaluation in"));
        Assert.Contains($"only lite-cnn right on {onlySecond}, only the other model on {onlyFirst}; exact McNemar p = ", paired);
    }

    [DatasetFact]
    public void ExcludingAFileThatIsNotAmongTheImagesIsAnError()
    {
        var error = Assert.Throws<CliException>(() =>
            EvaluateCommand.Run(LiteModel, LabelledFolder(1), Path.Combine(root, "r"), EvaluationSplit.All, TextWriter.Null,
                excluded: ["glioma_tumor/nope.jpg"]));

        Assert.Contains("--exclude", error.Message);
    }

    [DatasetFact]
    public void EvaluateWithTheDeletionCheckReportsItBesideTheMetrics()
    {
        string output = Path.Combine(root, "report");

        var report = EvaluateCommand.Run(LiteModel, LabelledFolder(2), output, EvaluationSplit.All, TextWriter.Null,
            gradCamDeletionFraction: 0.2);

        var deletion = report.GradCamDeletion!;
        Assert.Equal(8, deletion.Images + deletion.FlatMaps);
        Assert.InRange(deletion.MeanConfidence, 0.25, 1);
        Assert.InRange(deletion.MeanDropGradCam, -1, 1);
        Assert.InRange(deletion.GradCamLarger, 0, 1);
        Assert.Contains("## Grad-CAM deletion check", File.ReadAllText(Path.Combine(output, "report.md")));
    }

    [DatasetFact]
    public void ADeletionShareOutsideZeroToOneIsRefused()
    {
        var error = Assert.Throws<CliException>(() =>
            EvaluateCommand.Run(LiteModel, LabelledFolder(1), Path.Combine(root, "r"), EvaluationSplit.All, TextWriter.Null, 1.5));

        Assert.Contains("--gradcam-deletion", error.Message);
    }

    [DatasetFact]
    public void RecordingAnExternalValidationWritesItIntoTheManifestAndKeepsTheRest()
    {
        string package = PackageCopy(LiteModel);
        var before = ModelManifest.Read(Path.Combine(package, "model.json"));

        var report = EvaluateCommand.Run(package, LabelledFolder(2), Path.Combine(root, "report"), EvaluationSplit.All, TextWriter.Null,
            recordExternal: true);

        var after = ModelManifest.Read(Path.Combine(package, "model.json"));
        Assert.NotNull(after.External);
        Assert.Equal(8, after.External.Images);
        Assert.Equal(Math.Round(report.Metrics.Classification.Accuracy, 4), after.External.Accuracy);
        Assert.Equal(report.Metrics.Classification.TumoursMissed, after.External.TumoursMissed);
        Assert.Equal(JsonSerializer.Serialize(before with { External = null }, ModelManifest.JsonOptions),
            JsonSerializer.Serialize(after with { External = null }, ModelManifest.JsonOptions));
    }

    [DatasetTheory]
    [InlineData(EvaluationSplit.All)]
    [InlineData(EvaluationSplit.Validation)]
    public void TheTrainingDataCannotBeRecordedAsExternalValidation(EvaluationSplit split)
    {
        var error = Assert.Throws<CliException>(() =>
            EvaluateCommand.Run(LiteModel, RepositoryPaths.Dataset, Path.Combine(root, "report"), split, TextWriter.Null,
                recordExternal: true));

        Assert.Contains("cannot be its external validation", error.Message);
    }

    [DatasetFact]
    public void TheValidationSplitCannotBeRebuiltFromOtherData()
    {
        var error = Assert.Throws<CliException>(() =>
            EvaluateCommand.Run(Model, LabelledFolder(2), Path.Combine(root, "r"), EvaluationSplit.Validation, TextWriter.Null));

        Assert.Contains("validation split", error.Message);
    }

    /// <summary>
    /// Boxes that cover the whole slice catch every peak and all the mass; a box on another image's bytes is refused, since the
    /// pointing game must score the image the box was drawn on.
    /// </summary>
    [DatasetFact]
    public void EvaluateWithLesionBoxesPlaysThePointingGameForEveryMapMethodOnTheBoxedSlices()
    {
        string folder = LabelledFolder(1);
        string boxes = Path.Combine(root, "boxes.csv");
        string Sha(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(folder, file))));
        File.WriteAllLines(boxes,
        [
            "split,file,sha256,label,plane,x0,y0,x1,y1,boxed_by,boxed_at,note",
            $"Training,glioma_tumor/0.jpg,{Sha("glioma_tumor/0.jpg")},glioma_tumor,axial,0,0,1,1,test,2026-12-05,",
            $"Training,pituitary_tumor/0.jpg,{Sha("pituitary_tumor/0.jpg")},pituitary_tumor,axial,0,0,1,1,test,2026-12-05,",
        ]);

        var report = EvaluateCommand.Run(LiteModel, folder, Path.Combine(root, "r"), EvaluationSplit.All, TextWriter.Null,
            lesionBoxes: boxes);

        var games = report.Notes.Where(n => n.StartsWith("Pointing game of ")).ToList();
        Assert.NotEmpty(games);
        Assert.All(games, game => Assert.Contains(
            "on 2 slices with a hand-drawn lesion box: the true class's map peaks in the box (margin 5%) on 2 (1.000", game));
        Assert.All(games, game => Assert.Contains(
            "mean share of the map inside the box 1.000; by class glioma_tumor 1/1, pituitary_tumor 1/1.", game));

        File.WriteAllText(boxes, File.ReadAllText(boxes).Replace(Sha("glioma_tumor/0.jpg"), new string('0', 64)));
        // The pointing game refuses the box itself; the CLI prints the same one line for it as for its own refusals.
        var error = Assert.Throws<EvaluationException>(() =>
            EvaluateCommand.Run(LiteModel, folder, Path.Combine(root, "r2"), EvaluationSplit.All, TextWriter.Null, lesionBoxes: boxes));
        Assert.Equal("glioma_tumor/0.jpg is not the image its lesion box was drawn on (SHA-256 differs).", error.Message);
    }

    /// <summary>The CLI answers at the sensitive operating point with the same decision the API makes (Inference decides both).</summary>
    [DatasetFact]
    public void PredictAtTheSensitiveOperatingPointCallsATumourUnlessNoTumorReachesTheFittedMinimum()
    {
        string folder = LabelledFolder(3);
        double minimum = ModelManifest.Read(Path.Combine(LiteModel, "model.json")).SensitiveOperatingPoint!.NoTumorMinimum;

        var plain = PredictCommand.Run(LiteModel, [folder], "csv", TextWriter.Null);
        var sensitive = PredictCommand.Run(LiteModel, [folder], "csv", TextWriter.Null, "sensitive");

        Assert.Equal(plain.Count, sensitive.Count);
        foreach (var (argmax, decided) in plain.Zip(sensitive))
        {
            var p = argmax.Probabilities!;
            string expected = p["no_tumor"] >= minimum ? argmax.Label! : p.Where(c => c.Key != "no_tumor").MaxBy(c => c.Value).Key;
            Assert.Equal(expected, decided.Label);
            Assert.Equal(p[expected], decided.Confidence);
        }
    }

    [Fact]
    public async Task AnUnknownOperatingPointEndsPredictWithOneLine()
    {
        var result = await DotnetProcess.RunBuiltAsync("braintumor.dll", "predict", PublicSlice.Jpeg, "--model", LiteModel,
            "--operating-point", "cautious");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: --operating-point must be one of argmax, sensitive, not 'cautious'.", result.Error.Trim());
    }

    [DatasetFact]
    public void PredictWritesOneCsvRowPerFileAndReportsUnreadableOnes()
    {
        string folder = LabelledFolder(1);
        File.WriteAllText(Path.Combine(folder, "no_tumor", "broken.jpg"), "not an image");
        var output = new StringWriter();

        var results = PredictCommand.Run(Model, [folder], "csv", output);

        string[] lines = output.ToString().TrimEnd().Split('\n');
        Assert.Equal("file,model,model_version,label,confidence,p_glioma_tumor,p_meningioma_tumor,p_no_tumor,p_pituitary_tumor," +
                     "in_distribution,in_distribution_score,error", lines[0]);
        Assert.Equal(6, lines.Length);
        string version = ModelManifest.Read(Path.Combine(Model, "model.json")).Version;
        Assert.All(lines.Skip(1), line => Assert.Contains($",custom-cnn,{version},", line));
        Assert.Single(results, r => r.Error is not null);
        Assert.All(results.Where(r => r.Error is null), r => Assert.NotNull(r.InDistribution));
        Assert.All(results.Where(r => r.Error is null), r => Assert.Equal(1.0, r.Probabilities!.Values.Sum(), 4));
    }

    [Fact]
    public void PredictNamesAnImageThatCannotBeASliceInsteadOfClassifyingIt()
    {
        string blank = Path.Combine(root, "blank.png");
        using (var bitmap = new SKBitmap(200, 200))
        {
            bitmap.Erase(SKColors.Gray);
            using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(blank, png.ToArray());
        }

        var result = PredictCommand.Run(Model, [blank], "csv", new StringWriter()).Single();

        Assert.Null(result.Label);
        Assert.StartsWith("not an MRI slice: The image is almost uniform", result.Error);
    }

    [DatasetFact]
    public void PredictJsonHasTheProbabilitiesByLabel()
    {
        var output = new StringWriter();

        PredictCommand.Run(Model, [RepositoryPaths.DatasetImage("pituitary_tumor", 0)], "json", output);

        var row = JsonDocument.Parse(output.ToString()).RootElement.EnumerateArray().Single();
        Assert.Equal(Labels, row.GetProperty("probabilities").EnumerateObject().Select(p => p.Name));
        Assert.True(row.GetProperty("inDistribution").GetProperty("ok").GetBoolean());
        Assert.False(row.TryGetProperty("error", out _));
    }

    [Fact]
    public void PredictReadsDicomFilesInAFolderAndNamesTheOnesItRefuses()
    {
        string folder = Path.Combine(root, "dicom");
        Directory.CreateDirectory(folder);
        File.Copy(RepositoryPaths.PydicomFile("MR_small.dcm"), Path.Combine(folder, "readable.dcm"));
        File.Copy(RepositoryPaths.PydicomFile("MR_small_jp2klossless.dcm"), Path.Combine(folder, "jpeg2000.dcm"));

        var results = PredictCommand.Run(LiteModel, [folder], "csv", TextWriter.Null).OrderBy(r => r.File).ToList();

        Assert.Equal(2, results.Count);
        Assert.Contains("1.2.840.10008.1.2.4.90", results[0].Error);
        Assert.Null(results[1].Error);
        Assert.Equal(1, results[1].Probabilities!.Values.Sum(), 3);
    }

    [Fact]
    public void AModelCanBeNamedInsteadOfGivenAsAFolder()
    {
        var output = new StringWriter();

        var byName = PredictCommand.Run("lite-cnn", [PublicSlice.Jpeg], "json", output).Single();
        var byFolder = PredictCommand.Run(LiteModel, [PublicSlice.Jpeg], "json", TextWriter.Null).Single();

        Assert.Equal("lite-cnn", byName.Model);
        Assert.Equal(byFolder.Probabilities, byName.Probabilities);
        Assert.Equal("lite-cnn", JsonDocument.Parse(output.ToString()).RootElement[0].GetProperty("model").GetString());
    }

    [Theory]
    [InlineData("no-such-model")]
    [InlineData("/no/such/folder")]
    public void AModelThatIsNeitherAFolderNorAShippedNameIsNamed(string model)
    {
        var error = Assert.Throws<CliException>(() => PredictCommand.Run(model, [root], "csv", TextWriter.Null));

        Assert.Contains("neither a package folder nor the name of one", error.Message);
    }

    [Fact]
    public async Task TheProgramExitsNonZeroWithOneLinePerUnreadableFile()
    {
        string junk = Path.Combine(root, "junk.png");
        File.WriteAllText(junk, "junk");

        var result = await DotnetProcess.RunBuiltAsync("braintumor.dll", "predict", junk, "--model", Model);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {junk}: The bytes are not a JPEG, PNG, BMP or WebP image or a DICOM Part 10 file.", result.Error.Trim());
        Assert.Contains("junk.png", result.Output);
    }

    [Fact]
    public async Task PredictCreatesTheFolderOfItsOutputFileAndSaysWhatItWrote()
    {
        string output = Path.Combine(root, "new", "folder", "predictions.csv");

        var result = await DotnetProcess.RunBuiltAsync("braintumor.dll", "predict", PublicSlice.Jpeg, "--model", Model, "--out", output);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(2, File.ReadAllLines(output).Length);
        Assert.Equal($"wrote 1 of 1 results to {output}", result.Error.Trim());
    }

    [Fact]
    public async Task AnOutputFileThatCannotBeWrittenEndsWithOneLine()
    {
        var result = await DotnetProcess.RunBuiltAsync("braintumor.dll", "predict", PublicSlice.Jpeg, "--model", Model, "--out", root);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: ", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
    }
}

public sealed class ImportCommandTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("braintumor-import-cli-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static Task<DotnetProcess.Result> Braintumor(params string[] arguments) =>
        DotnetProcess.RunBuiltAsync("braintumor.dll", arguments);

    [Fact]
    public async Task AnImportedPlainModelBecomesAServablePackage()
    {
        var random = new Random(1);
        float[] Uniform(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.3)).ToArray();
        var network = new SequentialNetwork(3, 32, 32,
        [
            new Conv2dLayer("conv", 3, 8, 3, 2, 1, Uniform(8 * 27), Uniform(8)),
            new ReluLayer("relu"),
            new GlobalAveragePoolLayer("gap"),
            new FlattenLayer("flatten"),
            new DenseLayer("fc", 8, 4, Uniform(32), Uniform(4)),
        ], GradCamLayerIndex: 1);
        string onnx = Path.Combine(root, "plain.onnx");
        OnnxExporter.Save(OnnxExporter.Export(network, includeGradCam: false), onnx);
        string package = Path.Combine(root, "models", "mine");

        var result = await Braintumor("import", "--onnx", onnx, "--labels", "glioma_tumor,meningioma_tumor,no_tumor,pituitary_tumor",
            "--input-size", "32,32", "--normalisation", "imagenet", "--out", package);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("Grad-CAM at 'relu' (8x16x16)", result.Output);
        using var model = ClassifierModel.Load(package, new InferenceOptions());
        var prediction = model.Predict(new RgbImage(32, 32, new byte[3 * 32 * 32]), withGradCam: true);
        Assert.Equal(16 * 16, prediction.GradCam!.Values.Length);
        Assert.Equal(0.485f, model.Manifest.Input.Normalization.Mean[0]);
    }

    [Fact]
    public async Task ABadInputSizeEndsWithOneLine()
    {
        var result = await Braintumor("import", "--onnx", "x.onnx", "--labels", "a,b", "--input-size", "big", "--out", root);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: --input-size must be height,width, not 'big'.", result.Error.Trim());
    }
}
