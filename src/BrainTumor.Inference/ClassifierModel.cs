using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using BrainTumor.Imaging;
using BrainTumor.Models;
using BrainTumor.Onnx;
using BrainTumor.Onnx.Proto;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace BrainTumor.Inference;

/// <summary>
/// One model package with its ONNX Runtime sessions, created once and shared by all requests
/// (<see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
/// is thread-safe). A package with maps has its graph cut in two (<see cref="GraphPruning.Split"/>): ONNX Runtime runs every node
/// of a session whatever a Run fetches, so a prediction runs only the part that computes the probabilities, and a map runs the
/// rest too, fed with the tensors of the first part that it reads. Each part holds the weights it reads, so a weight that both
/// read is held twice. A graph the cut cannot handle (one with If, Loop or Scan nodes) runs whole in one session.
/// </summary>
public sealed class ClassifierModel : IDisposable
{
    private readonly InferenceSession predictor;
    private readonly InferenceSession? explainer;
    private readonly string[] predictionOutputs;
    private readonly string[] mapPassOutputs;
    private readonly string[] gradCamOutputs;
    private readonly string[] camInputOutputs;
    private readonly string[] predictionInputs;
    private readonly string[] wholeGraphInputs;
    private readonly string[] explainerInputs;
    // For each of the explainer's inputs but the target class, where its value comes from: an output of the map pass, or -1 for the image.
    private readonly int[] explainerSources;
    private readonly int featuresOutput;
    private readonly FeatureDistribution? featureDistribution;
    // Options only configure a run; one instance serves every concurrent Run, as in the ONNX Runtime C# samples.
    private readonly RunOptions runOptions = new();
    // Input planes given back by the server once a request has run (Recycle): each is 150 KB at 224 px, a large-object allocation
    // that would otherwise be made, and collected, for every request.
    private readonly ConcurrentQueue<byte[]> inputPlanes = new();

    private ClassifierModel(string directory, ModelManifest manifest, InferenceSession predictor, InferenceSession? explainer,
        FeatureDistribution? featureDistribution)
    {
        Directory = directory;
        Manifest = manifest;
        this.predictor = predictor;
        this.explainer = explainer;
        this.featureDistribution = featureDistribution;
        // The features ride along in the same run, second, so that the probabilities stay first.
        string[] features = featureDistribution is null ? [] : [manifest.Outputs.Features!];
        predictionOutputs = [manifest.Outputs.Probabilities, .. features];
        featuresOutput = features.Length > 0 ? 1 : -1;
        gradCamOutputs = manifest.Outputs.Cam is string cam && manifest.Outputs.CamClass is string camClass ? [cam, camClass] : [];
        camInputOutputs = manifest.Outputs is { CamGradient: string gradient, CamActivation: string activation, CamClass: string selected }
            ? [gradient, activation, selected]
            : [];
        predictionInputs = [manifest.Input.Name];
        string? target = manifest.Outputs.TargetClass;
        // The caller gives the target class, whether the graph has it as a plain input or as one with a default value.
        string[] fed = explainer?.InputMetadata.Keys.Where(name => name != target).ToArray() ?? [];
        mapPassOutputs = [.. predictionOutputs, .. fed.Where(name => name != manifest.Input.Name).Except(predictionOutputs)];
        explainerSources = fed.Select(name => name == manifest.Input.Name ? -1 : Array.IndexOf(mapPassOutputs, name)).ToArray();
        explainerInputs = target is not null ? [.. fed, target] : fed;
        wholeGraphInputs = target is not null ? [manifest.Input.Name, target] : predictionInputs;
    }

    public string Name => Manifest.Name;
    public string Directory { get; }
    public ModelManifest Manifest { get; }
    public bool HasGradCam => gradCamOutputs.Length > 0;

    /// <summary>Whether the graph runs as two sessions (<see cref="GraphPruning.Split"/>) rather than one.</summary>
    internal bool IsSplit => explainer is not null;

    /// <summary>The map methods this package can compute: Grad-CAM, and the others when it outputs the gradient and activation.</summary>
    public IReadOnlyList<CamMethod> CamMethodsAvailable =>
        !HasGradCam ? [] : camInputOutputs.Length > 0 ? Enum.GetValues<CamMethod>() : [CamMethod.GradCam];

    /// <summary>
    /// The map method used when none is asked for (the manifest's <c>defaultCamMethod</c>); Grad-CAM for a name this build does not
    /// know.
    /// </summary>
    public CamMethod DefaultCamMethod => CamMethods.Parse(Manifest.DefaultCamMethod) ?? CamMethod.GradCam;

    /// <summary>Loads a package and checks its manifest against the ONNX graph; throws <see cref="ModelPackageException"/>.</summary>
    /// <param name="logger">Warned when the graph cannot be cut in two and runs as one session.</param>
    public static ClassifierModel Load(string directory, InferenceOptions options, ILogger? logger = null)
    {
        string manifestPath = Path.Combine(directory, ModelManifest.FileName);
        string onnxPath = Path.Combine(directory, ModelManifest.OnnxFileName);
        if (!File.Exists(onnxPath))
        {
            throw new ModelPackageException(
                $"{onnxPath}: file not found (a model package needs {ModelManifest.OnnxFileName} beside {ModelManifest.FileName}).");
        }
        ModelManifest manifest;
        try
        {
            manifest = ModelManifest.Read(manifestPath);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException)
        {
            throw new ModelPackageException($"{manifestPath}: not a valid manifest: {ex.Message}");
        }

        var (predictor, explainer) = CreateSessions(manifest, onnxPath, options, logger ?? NullLogger.Instance);
        try
        {
            ModelValidation.Check(manifest, predictor, explainer, manifestPath);
            var distribution = LoadFeatureDistribution(directory, manifest, manifestPath);
            return new ClassifierModel(directory, manifest, predictor, explainer, distribution);
        }
        catch
        {
            predictor.Dispose();
            explainer?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One session over each part of the graph's <see cref="MapSplit"/>, or one over the whole graph, as before the cut, when it has
    /// none or cannot be cut (a prediction then runs the Grad-CAM graph too).
    /// </summary>
    private static (InferenceSession Predictor, InferenceSession? Explainer) CreateSessions(ModelManifest manifest, string onnxPath,
        InferenceOptions options, ILogger logger)
    {
        if (manifest.Outputs.Cam is not null)
        {
            var model = ReadModel(onnxPath);
            try
            {
                if (MapSplit(manifest, model) is { } split)
                {
                    return CreateSplitSessions(split, options, onnxPath);
                }
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException or ModelPackageException)
            {
                logger.LogWarning("{Onnx}: the graph is not cut in two ({Reason}); one session runs all of it, for predictions too",
                    onnxPath, ex.Message);
            }
        }
        return (CreateSession(onnxPath, options), null);
    }

    private static ModelProto ReadModel(string onnxPath)
    {
        try
        {
            using var file = File.OpenRead(onnxPath);
            return ModelProto.Parser.ParseFrom(file);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new ModelPackageException($"{onnxPath}: not an ONNX model: {ex.Message}");
        }
    }

    private static (InferenceSession Predictor, InferenceSession? Explainer) CreateSplitSessions(GraphSplit split,
        InferenceOptions options, string onnxPath)
    {
        var predictor = CreateSession(split.First.ToByteArray(), options, onnxPath);
        try
        {
            TypeBoundary(split, predictor);
            return (predictor, CreateSession(split.Rest.ToByteArray(), options, onnxPath));
        }
        catch
        {
            predictor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The graph cut between what a prediction needs and what only maps need, when the graph has every output the manifest
    /// names; otherwise null, and one session runs the whole graph (a package that validation refuses).
    /// </summary>
    private static GraphSplit? MapSplit(ModelManifest manifest, ModelProto model)
    {
        var outputs = manifest.Outputs;
        string[] prediction = [outputs.Logits, outputs.Probabilities, .. new[] { outputs.Features }.OfType<string>()];
        string?[] maps = [outputs.Cam, outputs.CamClass, outputs.CamGradient, outputs.CamActivation];
        var graphOutputs = model.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        return prediction.Concat(maps.OfType<string>()).All(graphOutputs.Contains) ? GraphPruning.Split(model, prediction) : null;
    }

    /// <summary>Gives the second part's inputs the types and shapes ONNX Runtime inferred for them as the first part's outputs.</summary>
    private static void TypeBoundary(GraphSplit split, InferenceSession first)
    {
        foreach (var input in split.Rest.Graph.Input.Where(i => split.Boundary.Contains(i.Name)))
        {
            var metadata = first.OutputMetadata[input.Name];
            if (!metadata.IsTensor)
            {
                throw new NotSupportedException($"'{input.Name}', which the second part reads, is not a tensor.");
            }
            // ONNX Runtime's element types are numbered as ONNX's.
            var tensor = new TypeProto.Types.Tensor { ElemType = (int)metadata.ElementDataType };
            // No dimensions is also how ONNX Runtime reports a shape it could not infer: declared as none, not as a scalar's.
            if (metadata.Dimensions.Length > 0)
            {
                tensor.Shape = new TensorShapeProto();
                tensor.Shape.Dim.Add(metadata.Dimensions.Select((size, axis) => size >= 0
                    ? new TensorShapeProto.Types.Dimension { DimValue = size }
                    : new TensorShapeProto.Types.Dimension { DimParam = metadata.SymbolicDimensions[axis] }));
            }
            input.Type = new TypeProto { TensorType = tensor };
        }
    }

    private static InferenceSession CreateSession(string onnxPath, InferenceOptions options) =>
        CreateSession(sessionOptions => new InferenceSession(onnxPath, sessionOptions), options, onnxPath);

    private static InferenceSession CreateSession(byte[] model, InferenceOptions options, string onnxPath) =>
        CreateSession(sessionOptions => new InferenceSession(model, sessionOptions), options, onnxPath);

    private static InferenceSession CreateSession(Func<SessionOptions, InferenceSession> create, InferenceOptions options, string onnxPath)
    {
        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // The optional target_class input is an overridable initializer; ONNX Runtime warns about that on every load.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        SharedCpuArena.UseIn(sessionOptions);
        try
        {
            return create(sessionOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelPackageException($"{onnxPath}: ONNX Runtime cannot load it: {ex.Message}");
        }
    }

    private static FeatureDistribution? LoadFeatureDistribution(string directory, ModelManifest manifest, string manifestPath)
    {
        if (manifest.OutOfDistribution is not { } guard)
        {
            return null;
        }
        string path = Path.Combine(directory, Path.GetFileName(guard.StatisticsFile));
        if (!File.Exists(path))
        {
            throw new ModelPackageException(
                $"{manifestPath}: outOfDistribution.statisticsFile '{guard.StatisticsFile}' is not in the package.");
        }
        try
        {
            var distribution = FeatureDistribution.Load(path);
            if (distribution.Dimensions != manifest.GradCam.Channels || distribution.Classes != manifest.Labels.Count)
            {
                throw new ModelPackageException(
                    $"{path}: {distribution.Classes} classes of {distribution.Dimensions} features, but the model has " +
                                                $"{manifest.Labels.Count} classes and {manifest.GradCam.Channels} features.");
            }
            return distribution;
        }
        catch (InvalidDataException ex)
        {
            throw new ModelPackageException(ex.Message);
        }
    }

    /// <summary>
    /// The model's input size: what a JPEG is decoded at least at for it (<see cref="ImageLoader.Decode"/>'s <c>atLeast</c>), by the
    /// server and by the CLI's <c>predict</c> and <c>evaluate</c> alike, so that both give the same answers.
    /// </summary>
    public SKSizeI InputSize => new(Manifest.Input.Width, Manifest.Input.Height);

    /// <summary>Brings the image to the model's input with the package's own preprocessing, exactly as training did.</summary>
    /// <remarks>Its pixels may reuse the planes of an input given back with <see cref="Recycle"/>.</remarks>
    public PreparedImage Prepare(SKBitmap image) => Manifest.Input.Steps.Prepare(image, Manifest.Input.Width, Manifest.Input.Height,
        inputPlanes.TryDequeue(out var planes) ? planes : null);

    /// <summary>
    /// Gives an input made by <see cref="Prepare"/> back once nothing reads it any more, so that a later <see cref="Prepare"/>
    /// writes into its planes. At most <see cref="MaxRecycledInputs"/> are kept.
    /// </summary>
    public void Recycle(RgbImage input)
    {
        if (input.Width == Manifest.Input.Width && input.Height == Manifest.Input.Height && inputPlanes.Count < MaxRecycledInputs)
        {
            inputPlanes.Enqueue(input.Planes);
        }
    }

    /// <summary>More than the requests that run at once on a machine of this size, fewer than would hold memory for nothing.</summary>
    private const int MaxRecycledInputs = 16;

    /// <param name="targetClass">The class Grad-CAM explains; null for the predicted class.</param>
    /// <param name="method">How the map is made (<see cref="CamMethodsAvailable"/>).</param>
    /// <param name="point">How the probabilities become the answer (<see cref="OperatingPoints.Unavailable"/> says whether the model
    /// offers it).
    /// The map of a null <paramref name="targetClass"/> explains the most probable class whatever the point.</param>
    public Prediction Predict(RgbImage input, bool withGradCam, int? targetClass = null, CamMethod method = CamMethod.GradCam,
        OperatingPoint point = OperatingPoint.Argmax)
    {
        if (withGradCam && !CamMethodsAvailable.Contains(method))
        {
            throw new InvalidOperationException($"Model '{Name}' cannot compute {method} maps.");
        }
        bool fromCamInputs = withGradCam && method != CamMethod.GradCam;
        long started = Stopwatch.GetTimestamp();
        int length = input.Planes.Length;
        float[] buffer = ArrayPool<float>.Shared.Rent(length);
        try
        {
            input.WriteTensor(Manifest.Input.Normalization, buffer);
            using var tensor = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer.AsMemory(0, length),
                [1, 3, Manifest.Input.Height, Manifest.Input.Width]);
            using var targetValue = withGradCam ? OrtValue.CreateTensorValueFromMemory(new[] { (long)(targetClass ?? -1) }, [1]) : null;
            string[] mapOutputs = fromCamInputs ? camInputOutputs : gradCamOutputs;
            // A graph that is not cut computes the prediction and the map in one run, as before the cut.
            using var outputs = !withGradCam
                ? predictor.Run(runOptions, predictionInputs, [tensor], predictionOutputs)
                : explainer is null
                    ? predictor.Run(runOptions, wholeGraphInputs, [tensor, targetValue!], [.. predictionOutputs, .. mapOutputs])
                    : predictor.Run(runOptions, predictionInputs, [tensor], mapPassOutputs);

            float[] probabilities = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            int predicted = OperatingPoints.Decide(Manifest, probabilities, point);
            GradCamMap? cam = null;
            if (withGradCam)
            {
                var feeds = new OrtValue[explainerInputs.Length];
                for (int i = 0; i < explainerSources.Length; i++)
                {
                    feeds[i] = explainerSources[i] < 0 ? tensor : outputs[explainerSources[i]];
                }
                if (feeds.Length > explainerSources.Length)
                {
                    feeds[^1] = targetValue!;
                }
                using var explained = explainer?.Run(runOptions, explainerInputs, feeds, mapOutputs);
                IReadOnlyList<OrtValue> maps = explained is null ? outputs.Skip(predictionOutputs.Length).ToList() : explained;
                var layer = Manifest.GradCam;
                int camClass = (int)maps[^1].GetTensorDataAsSpan<long>()[0];
                float[] values = fromCamInputs
                    ? CamMethods.Compute(method, maps[0].GetTensorDataAsSpan<float>(), maps[1].GetTensorDataAsSpan<float>(),
                        layer.Channels, layer.Height, layer.Width)
                    : maps[0].GetTensorDataAsSpan<float>().ToArray();
                cam = new GradCamMap(camClass, Manifest.Labels[camClass], layer.Width, layer.Height, values);
            }
            InDistribution? inDistribution = null;
            if (featureDistribution is not null)
            {
                double score = featureDistribution.Score(outputs[featuresOutput].GetTensorDataAsSpan<float>());
                var guard = Manifest.OutOfDistribution!;
                inDistribution = InDistribution.Judge(score, guard.Threshold, guard.TargetAcceptance);
            }
            return new Prediction(predicted, Manifest.Labels[predicted], probabilities[predicted], probabilities, cam,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds, inDistribution);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The logits and the penultimate features (<see cref="ModelOutputs.Features"/>) of one image, which the out-of-distribution
    /// guard is fitted and evaluated on.
    /// </summary>
    public (float[] Logits, float[] Features) Embed(RgbImage input)
    {
        if (Manifest.Outputs.Features is not string features)
        {
            throw new InvalidOperationException($"Model '{Name}' has no features output.");
        }
        float[] buffer = new float[input.Planes.Length];
        input.WriteTensor(Manifest.Input.Normalization, buffer);
        using var tensor = OrtValue.CreateTensorValueFromMemory(buffer, [1, 3, Manifest.Input.Height, Manifest.Input.Width]);
        using var outputs = predictor.Run(runOptions, predictionInputs, [tensor], [Manifest.Outputs.Logits, features]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray());
    }

    /// <summary>Runs the model on a mid-gray image so that the first real request does not pay for lazy initialisation.</summary>
    /// <param name="cancellation">Checked between runs, so that a host shutting down need not wait for them all.</param>
    public void WarmUp(int runs, CancellationToken cancellation = default)
    {
        var planes = new byte[3 * Manifest.Input.Width * Manifest.Input.Height];
        Array.Fill(planes, (byte)128);
        var image = new RgbImage(Manifest.Input.Width, Manifest.Input.Height, planes);
        for (int i = 0; i < runs && !cancellation.IsCancellationRequested; i++)
        {
            Predict(image, withGradCam: HasGradCam);
            Predict(image, withGradCam: false);
        }
    }

    public void Dispose()
    {
        predictor.Dispose();
        explainer?.Dispose();
        runOptions.Dispose();
    }
}
