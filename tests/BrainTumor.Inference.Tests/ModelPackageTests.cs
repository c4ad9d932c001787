using BrainTumor.Models;
using BrainTumor.Onnx;
using BrainTumor.Onnx.Proto;
using BrainTumor.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace BrainTumor.Inference.Tests;

/// <summary>Start-up checks of model packages, on copies of the shipped model with one thing broken.</summary>
public sealed class ModelPackageTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("braintumor-models-").FullName;
    private static readonly string Shipped = Path.Combine(RepositoryPaths.Root, "models", "custom-cnn");

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string CopyShipped(Func<ModelManifest, ModelManifest>? change = null)
    {
        string directory = Path.Combine(root, "custom-cnn");
        Directory.CreateDirectory(directory);
        foreach (string file in Directory.GetFiles(Shipped).Where(f => Path.GetFileName(f) != ModelManifest.FileName))
        {
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
        }
        var manifest = ModelManifest.Read(Path.Combine(Shipped, ModelManifest.FileName));
        (change?.Invoke(manifest) ?? manifest).Write(Path.Combine(directory, ModelManifest.FileName));
        return directory;
    }

    /// <summary>Rewrites the copied package's ONNX graph.</summary>
    private static void ChangeGraph(string directory, Action<GraphProto> change)
    {
        string path = Path.Combine(directory, ModelManifest.OnnxFileName);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        change(model.Graph);
        OnnxExporter.Save(model, path);
    }

    private static Imaging.RgbImage NoiseImage(ClassifierModel model)
    {
        var planes = new byte[3 * model.Manifest.Input.Width * model.Manifest.Input.Height];
        new Random(5).NextBytes(planes);
        return new Imaging.RgbImage(model.Manifest.Input.Width, model.Manifest.Input.Height, planes);
    }

    private ModelCatalog Catalog(InferenceOptions? options = null) =>
        new(Options.Create(options ?? new InferenceOptions { ModelsDirectory = root }), NullLogger<ModelCatalog>.Instance);

    [Fact]
    public void TheShippedPackageLoadsAndPredicts()
    {
        CopyShipped();
        using var catalog = Catalog();

        catalog.WarmUp(1);

        Assert.True(catalog.IsReady);
        Assert.Equal("custom-cnn", catalog.Default.Name);
        Assert.True(catalog.Default.HasGradCam);
    }

    [Fact]
    public void AnInputGivenBackIsWrittenOverByTheNextPrepareWithThatImagesPixels()
    {
        using var model = ClassifierModel.Load(Shipped, new InferenceOptions());
        using var grey = new SKBitmap(new SKImageInfo(300, 260, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        grey.Erase(new SKColor(120, 120, 120));
        using var white = new SKBitmap(new SKImageInfo(300, 260, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        white.Erase(SKColors.White);
        var first = model.Prepare(grey).Pixels;

        model.Recycle(first);
        var second = model.Prepare(white).Pixels;

        Assert.Same(first.Planes, second.Planes);
        Assert.All(second.Planes, level => Assert.Equal(255, level));
        // Given back once, used once: the next input gets planes of its own.
        Assert.NotSame(second.Planes, model.Prepare(grey).Pixels.Planes);
    }

    [Fact]
    public void APackageWhoseTargetClassIsAPlainInputWarmsUpAndExplainsTheClassAskedFor()
    {
        string directory = CopyShipped();
        ChangeGraph(directory, graph => graph.Initializer.Remove(graph.Initializer.Single(i => i.Name == ModelTensorNames.TargetClass)));
        using var catalog = Catalog();
        var model = catalog.Default;

        catalog.WarmUp(1);
        var asked = model.Predict(NoiseImage(model), withGradCam: true, targetClass: 1);
        var predicted = model.Predict(NoiseImage(model), withGradCam: true);

        Assert.True(catalog.IsReady);
        Assert.True(model.IsSplit);
        Assert.Equal(1, asked.GradCam!.ClassIndex);
        Assert.Equal(predicted.ClassIndex, predicted.GradCam!.ClassIndex);
    }

    [Fact]
    public void AGraphThatCannotBeCutInTwoLoadsAsOneSessionAndAnswersAsTheShippedOne()
    {
        string directory = CopyShipped();
        ChangeGraph(directory, ProbabilitiesInAnIf);
        using var shipped = ClassifierModel.Load(Shipped, new InferenceOptions());
        using var catalog = Catalog();
        var model = catalog.Default;

        catalog.WarmUp(1);
        var prediction = model.Predict(NoiseImage(model), withGradCam: true, targetClass: 1);
        var expected = shipped.Predict(NoiseImage(shipped), withGradCam: true, targetClass: 1);

        Assert.False(model.IsSplit);
        Assert.True(shipped.IsSplit);
        Assert.Equal(expected.Probabilities, prediction.Probabilities);
        Assert.Equal(expected.GradCam!.Values, prediction.GradCam!.Values);
    }

    /// <summary>
    /// The node computing the probabilities moved into both branches of an If on a constant, each also multiplying by an outer
    /// initializer that only the branch reads: a part cut without following subgraphs would lack it.
    /// </summary>
    private static void ProbabilitiesInAnIf(GraphProto graph)
    {
        int index = graph.Node.ToList().FindIndex(n => n.Output.Contains(ModelTensorNames.Probabilities));
        var inBranch = graph.Node[index].Clone();
        inBranch.Output[0] = "branch_softmax";
        graph.Initializer.Add(new TensorProto { Name = "always", DataType = (int)TensorProto.Types.DataType.Bool, Int32Data = { 1 } });
        graph.Initializer.Add(new TensorProto { Name = "one", DataType = (int)TensorProto.Types.DataType.Float, FloatData = { 1f } });
        var branch = new GraphProto
        {
            Name = "branch",
            Node = { inBranch, new NodeProto { OpType = "Mul", Input = { "branch_softmax", "one" }, Output = { "branch_out" } } },
            Output =
            {
                new ValueInfoProto
                {
                    Name = "branch_out",
                    Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
                },
            },
        };
        AttributeProto Branch(string name) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = branch.Clone() };
        graph.Node[index] = new NodeProto
        {
            Name = "probabilities_if",
            OpType = "If",
            Input = { "always" },
            Output = { ModelTensorNames.Probabilities },
            Attribute = { Branch("then_branch"), Branch("else_branch") },
        };
    }

    [Fact]
    public void APackageWithoutPreprocessingIsFedTheWholeImageStretchedAsBefore()
    {
        string json = File.ReadAllText(Path.Combine(Shipped, ModelManifest.FileName));
        Assert.DoesNotContain("\"preprocessing\"", json);

        var manifest = ModelManifest.Read(Path.Combine(Shipped, ModelManifest.FileName));

        Assert.Null(manifest.Input.Preprocessing);
        Assert.Equal(Imaging.Preprocessing.Stretch, manifest.Input.Steps);
    }

    [Fact]
    public void ThePreprocessingStepsSurviveTheManifestsJson()
    {
        string directory = CopyShipped(m => m with { Input = m.Input with { Preprocessing = Imaging.Preprocessing.HeadStandardised } });

        var manifest = ModelManifest.Read(Path.Combine(directory, ModelManifest.FileName));

        Assert.Equal(Imaging.Preprocessing.HeadStandardised, manifest.Input.Steps);
        Assert.Contains("\"crop\": \"Head\"", File.ReadAllText(Path.Combine(directory, ModelManifest.FileName)));
    }

    [Fact]
    public void AManifestWithAnotherInputSizeIsRefusedNamingTheFile()
    {
        string directory = CopyShipped(m => m with { Input = m.Input with { Width = 128, Height = 128 } });

        var error = Assert.Throws<ModelPackageException>(() => Catalog());

        Assert.Contains(Path.Combine(directory, ModelManifest.FileName), error.Message);
        Assert.Contains("shape", error.Message);
    }

    [Fact]
    public void AManifestWithTheWrongNumberOfLabelsIsRefused()
    {
        CopyShipped(m => m with { Labels = ["a", "b", "c"] });

        var error = Assert.Throws<ModelPackageException>(() => Catalog());

        Assert.Contains("probabilities", error.Message);
    }

    [Fact]
    public void AManifestWithTheWrongGradCamSizeIsRefused()
    {
        CopyShipped(m => m with { GradCam = m.GradCam with { Width = 14, Height = 14 } });

        var error = Assert.Throws<ModelPackageException>(() => Catalog());

        Assert.Contains(ModelTensorNames.Cam, error.Message);
    }

    [Fact]
    public void AMissingOnnxFileIsRefused()
    {
        string directory = CopyShipped();
        File.Delete(Path.Combine(directory, ModelManifest.OnnxFileName));

        var error = Assert.Throws<ModelPackageException>(() => Catalog());

        Assert.Contains(ModelManifest.OnnxFileName, error.Message);
    }

    [Fact]
    public void AnUnreadableManifestIsRefused()
    {
        string directory = CopyShipped();
        File.WriteAllText(Path.Combine(directory, ModelManifest.FileName), "{ not json");

        var error = Assert.Throws<ModelPackageException>(() => Catalog());

        Assert.Contains(ModelManifest.FileName, error.Message);
    }

    [Fact]
    public void ADefaultModelThatIsNotThereIsRefused()
    {
        CopyShipped();

        var error = Assert.Throws<ModelPackageException>(
            () => Catalog(new InferenceOptions { ModelsDirectory = root, DefaultModel = "resnet50" }));

        Assert.Contains("resnet50", error.Message);
    }

    [Fact]
    public void OnlyTheNamedPackagesAreLoaded()
    {
        CopyShipped();
        Directory.CreateDirectory(Path.Combine(root, "other"));
        foreach (string file in Directory.GetFiles(Path.Combine(root, "custom-cnn")))
        {
            File.Copy(file, Path.Combine(root, "other", Path.GetFileName(file)));
        }
        var manifest = ModelManifest.Read(Path.Combine(root, "other", ModelManifest.FileName));
        (manifest with { Name = "other" }).Write(Path.Combine(root, "other", ModelManifest.FileName));

        using var all = Catalog();
        using var one = Catalog(new InferenceOptions { ModelsDirectory = root, Models = ["other"] });

        Assert.Equal(["custom-cnn", "other"], all.All.Select(m => m.Name).Order());
        Assert.Equal("other", Assert.Single(one.All).Name);
    }

    [Fact]
    public void APackageNamedInModelsThatIsNotThereIsRefusedWithTheOnesThatAre()
    {
        CopyShipped();

        var error = Assert.Throws<ModelPackageException>(
            () => Catalog(new InferenceOptions { ModelsDirectory = root, Models = ["resnet99"] }));

        Assert.Contains("'resnet99'", error.Message);
        Assert.Contains("custom-cnn", error.Message);
    }

    [Fact]
    public void AnEmptyModelsFolderIsRefused()
    {
        var error = Assert.Throws<ModelPackageException>(() => Catalog());

        Assert.Contains("no model package", error.Message);
    }

    [Fact]
    public void AGuardWhoseStatisticsFileIsMissingIsRefused()
    {
        string directory = CopyShipped();
        var guard = ModelManifest.Read(Path.Combine(directory, ModelManifest.FileName)).OutOfDistribution;
        Assert.NotNull(guard);
        File.Delete(Path.Combine(directory, guard.StatisticsFile));

        var error = Assert.Throws<ModelPackageException>(() => Catalog());

        Assert.Contains(guard.StatisticsFile, error.Message);
    }

    [Fact]
    public void AGuardWithoutTheFeaturesOutputIsRefused()
    {
        CopyShipped(m => m with { Outputs = m.Outputs with { Features = null } });

        var error = Assert.Throws<ModelPackageException>(() => Catalog());

        Assert.Contains("outputs.features", error.Message);
    }

    [Fact]
    public void StatisticsOfAnotherWidthAreRefused()
    {
        string directory = CopyShipped();
        var guard = ModelManifest.Read(Path.Combine(directory, ModelManifest.FileName)).OutOfDistribution!;
        var random = new Random(1);
        var features = Enumerable.Range(0, 40)
            .Select(_ => Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble()).ToArray()).ToList();
        FeatureDistribution.Fit(features, features.Select((_, i) => i % 4).ToList(), 4, shrinkage: null)
            .Save(Path.Combine(directory, guard.StatisticsFile));

        var error = Assert.Throws<ModelPackageException>(() => Catalog());

        Assert.Contains("8 features", error.Message);
    }

    [DatasetFact]
    public void AModelWithAGuardSaysForEveryPredictionWhetherTheImageIsLikeItsTrainingImages()
    {
        CopyShipped();
        using var catalog = Catalog();
        var model = catalog.Default;
        using var slice = Imaging.ImageLoader.Decode(File.ReadAllBytes(RepositoryPaths.DatasetImage("glioma_tumor", 0)));
        using var noise = new SkiaSharp.SKBitmap(
            new SkiaSharp.SKImageInfo(256, 256, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Unpremul));
        var random = new Random(3);
        random.NextBytes(noise.GetPixelSpan());

        var onSlice = model.Predict(model.Prepare(slice).Pixels, withGradCam: false).InDistribution;
        var onNoise = model.Predict(model.Prepare(noise).Pixels, withGradCam: true).InDistribution;

        Assert.NotNull(onSlice);
        Assert.NotNull(onNoise);
        Assert.True(onSlice.Ok, $"a training slice scored {onSlice.Score}, above {onSlice.Threshold}");
        Assert.False(onNoise.Ok, $"noise scored {onNoise.Score}, below {onNoise.Threshold}");
        Assert.Equal(model.Manifest.OutOfDistribution!.Threshold, onNoise.Threshold);
    }
}

public sealed class ModelsDirectoryTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("braintumor-resolve-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void ARelativeModelsFolderIsFoundAboveTheBuildOutput()
    {
        Directory.CreateDirectory(Path.Combine(root, "models"));
        string output = Directory.CreateDirectory(Path.Combine(root, "src", "BrainTumor.Api", "bin", "Release", "net10.0")).FullName;

        string resolved = ModelCatalog.ResolveModelsDirectory("models", output);

        Assert.Equal(Path.Combine(root, "models"), Path.GetFullPath(resolved));
    }

    [Fact]
    public void AnAbsoluteModelsFolderIsTakenAsGiven()
    {
        Assert.Equal(root, ModelCatalog.ResolveModelsDirectory(root, "/somewhere/else"));
    }
}
