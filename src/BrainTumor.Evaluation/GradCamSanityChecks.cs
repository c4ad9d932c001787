using System.Runtime.InteropServices;
using BrainTumor.Imaging;
using BrainTumor.Imaging.Rendering;
using BrainTumor.Inference;
using BrainTumor.Models;
using BrainTumor.Onnx;
using BrainTumor.Onnx.Proto;
using Google.Protobuf;

namespace BrainTumor.Evaluation;

/// <summary>
/// Checks that Grad-CAM maps depend on what they should: on the model's weights (cascading randomisation), on the class
/// asked for (class sensitivity), on the head rather than the background (mass outside the head), and not on a small change
/// of brightness and contrast that leaves the answer alone (stability).
/// </summary>
public static class GradCamSanityChecks
{
    public const int ImagesPerClass = 10;

    // Layers re-initialised from the output down, one step each: enough to pass the classifier and two layers below it
    // (the thresholds) and to see the trend, without re-creating a session per layer of a 50-layer network.
    private const int MaxRandomisationSteps = 6;
    private const float BrightnessShift = 15, ContrastGain = 1.15f;

    /// <param name="images">The evaluated images: their files (to change brightness before the package's preprocessing) and
    /// labels.</param>
    public static GradCamChecks Run(ClassifierModel model, CamMethod method, string dataName,
        IReadOnlyList<(string File, int Label)> images, int seed, TextWriter log, ProgressStart progress)
    {
        var random = new Random(seed);
        var chosen = images.GroupBy(i => i.Label).OrderBy(g => g.Key)
            .SelectMany(g => g.OrderBy(_ => random.Next()).Take(ImagesPerClass)).ToList();
        var inputs = new List<(RgbImage Input, GradCamMap Map, int Predicted)>();
        double classSensitivity = 0, outside = 0, stability = 0;
        double insertion = 0, insertionShuffled = 0, deletion = 0, deletionShuffled = 0;
        int pairs = 0, stable = 0;
        var done = progress(chosen.Count, $"{method.Name()} checks");
        foreach (var (file, _) in chosen)
        {
            using var bitmap = ImageLoader.Decode(File.ReadAllBytes(file));
            var input = model.Prepare(bitmap).Pixels;
            var prediction = model.Predict(input, withGradCam: true, method: method);
            var map = prediction.GradCam!;
            inputs.Add((input, map, prediction.ClassIndex));
            for (int other = 0; other < model.Manifest.Labels.Count; other++)
            {
                if (other == prediction.ClassIndex) continue;
                var otherMap = model.Predict(input, withGradCam: true, other, method).GradCam!;
                classSensitivity += RankCorrelation.Spearman(map.Values, otherMap.Values);
                pairs++;
            }
            outside += OutsideHeadShare(input, map);
            var blurred = Blurred(input);
            double blurredProbability = model.Predict(blurred, withGradCam: false).Probabilities[prediction.ClassIndex];
            var byMap = Curves(model, input, blurred, SaliencyOrder(input, map.Values, map.Width, map.Height), prediction,
                blurredProbability);
            var shuffledOrder = SaliencyOrder(input, Shuffled(map.Values, random), map.Width, map.Height);
            var byShuffled = Curves(model, input, blurred, shuffledOrder, prediction, blurredProbability);
            insertion += byMap.Insertion;
            deletion += byMap.Deletion;
            insertionShuffled += byShuffled.Insertion;
            deletionShuffled += byShuffled.Deletion;
            using var changed = Perturbations.BrightnessAndContrast(bitmap, BrightnessShift, ContrastGain, about: 128);
            var changedPrediction = model.Predict(model.Prepare(changed).Pixels, withGradCam: true, prediction.ClassIndex, method);
            if (changedPrediction.ClassIndex == prediction.ClassIndex)
            {
                stability += RankCorrelation.Spearman(map.Values, changedPrediction.GradCam!.Values);
                stable++;
            }
            done(inputs.Count);
        }

        var steps = Randomisation(model, method, inputs, seed, log);
        var thresholds = GradCamCheckThresholds.Default;
        double sensitivity = pairs > 0 ? classSensitivity / pairs : double.NaN;
        double outsideShare = outside / inputs.Count;
        var failures = new List<string>();
        if (steps.Count == 0 || steps[0].MeanRankCorrelation >= thresholds.RandomisedClassifier)
        {
            failures.Add($"maps still correlate {steps.FirstOrDefault()?.MeanRankCorrelation:0.00} with the original once the classifier " +
                         $"is randomised; the check fails from {thresholds.RandomisedClassifier}");
        }
        if (steps.Count < 3 || steps[2].MeanRankCorrelation >= thresholds.RandomisedTwoLayersDown)
        {
            double twoDown = steps.Count >= 3 ? steps[2].MeanRankCorrelation : double.NaN;
            failures.Add($"maps still correlate {twoDown:0.00} two layers below the classifier; the check fails from " +
                         $"{thresholds.RandomisedTwoLayersDown}");
        }
        if (!(sensitivity < thresholds.ClassSensitivity))
        {
            failures.Add($"maps of different classes correlate {sensitivity:0.00}; the check fails from {thresholds.ClassSensitivity}");
        }
        if (!(outsideShare < thresholds.OutsideHead))
        {
            failures.Add($"{outsideShare:P0} of the map lies outside the head; the check fails from {thresholds.OutsideHead:P0}");
        }
        int n = inputs.Count;
        var faithfulness = new MapFaithfulness(Math.Round(insertion / n, 4), Math.Round(insertionShuffled / n, 4),
            Math.Round(deletion / n, 4), Math.Round(deletionShuffled / n, 4),
            Math.Round(Perturbations.BoxBlurSigma(BlurRadius(inputs[0].Input.Width)), 2));
        if (!(faithfulness.InsertionGain >= thresholds.FaithfulnessGain))
        {
            failures.Add($"inserting the map's pixels first gains {faithfulness.InsertionGain:0.000} over a shuffled map; the check " +
                         $"needs at least {thresholds.FaithfulnessGain}");
        }
        if (!(faithfulness.DeletionGain >= thresholds.FaithfulnessGain))
        {
            failures.Add($"deleting the map's pixels first gains {faithfulness.DeletionGain:0.000} over a shuffled map; the check needs " +
                         $"at least {thresholds.FaithfulnessGain}");
        }
        return new GradCamChecks(method.Name(), dataName, inputs.Count, steps, Math.Round(sensitivity, 4), Math.Round(outsideShare, 4),
            Math.Round(stable > 0 ? stability / stable : double.NaN, 4), stable, thresholds, failures.Count == 0, failures,
            DateTimeOffset.UtcNow,
            $"braintumor evaluate --gradcam-checks, {ImagesPerClass} images per class (seed {seed}), on {Machine.Description}",
            faithfulness);
    }

    /// <summary>The checks in one paragraph, as the evaluation report and the log give them.</summary>
    public static string Summary(GradCamChecks checks) =>
        $"Sanity checks of {checks.Method} maps on {checks.Images} images " +
        $"({(checks.Passed ? "passed" : "failed: " + string.Join("; ", checks.Failures))}): " +
        "rank correlation with the original maps after randomising the top " +
        $"{string.Join(", ", checks.Randomisation.Select(s => $"{s.LayersRandomised} layer(s) {s.MeanRankCorrelation:0.00}"))}; " +
        $"between classes {checks.ClassSensitivity:0.00}; share of the map outside the head {checks.OutsideHead:P1}; " +
        $"after +{BrightnessShift} grey levels and x{ContrastGain} contrast {checks.Stability:0.00} " +
        $"({checks.StableImages} images kept their label)" +
        (checks.Faithfulness is { } f
            ? $"; insertion area {f.InsertionArea:0.000} against {f.InsertionAreaShuffled:0.000} for a shuffled map, deletion area " +
              $"{f.DeletionArea:0.000} against {f.DeletionAreaShuffled:0.000} (pixels removed by a blur of sigma {f.BlurSigma:0.#} px)."
            : ".");

    /// <summary>
    /// Pixels of the model's input, most salient first by the map as the server draws it (min-max normalised, upsampled); ties by
    /// position.
    /// </summary>
    public static int[] SaliencyOrder(RgbImage input, float[] map, int mapWidth, int mapHeight)
    {
        float[] upsampled = GradCamRenderer.NormaliseAndUpsample(map, mapWidth, mapHeight, input.Width, input.Height);
        var order = Enumerable.Range(0, upsampled.Length).ToArray();
        // Negated keys sort descending; Array.Sort is unstable, so the position breaks ties explicitly.
        Array.Sort(order, (a, b) => upsampled[a] != upsampled[b] ? upsampled[b].CompareTo(upsampled[a]) : a.CompareTo(b));
        return order;
    }

    /// <summary>
    /// The mean probability of the predicted class along the insertion curve (blurred copy, the first k pixels of
    /// <paramref name="order"/> put back) and along the deletion curve (image, the first k pixels replaced by the blurred copy),
    /// k = 0%, 10%, ... 100% of the pixels, by the trapezoid rule.
    /// </summary>
    public static (double Insertion, double Deletion) Curves(ClassifierModel model, RgbImage image, RgbImage blurred, int[] order,
        Prediction prediction, double blurredProbability)
    {
        double original = prediction.Probabilities[prediction.ClassIndex];
        double insertion = (blurredProbability + original) / 2, deletion = (original + blurredProbability) / 2;
        for (int step = 1; step < CurveSteps; step++)
        {
            int count = order.Length * step / CurveSteps;
            insertion += model.Predict(Replaced(blurred, image, order, count), withGradCam: false).Probabilities[prediction.ClassIndex];
            deletion += model.Predict(Replaced(image, blurred, order, count), withGradCam: false).Probabilities[prediction.ClassIndex];
        }
        return (insertion / CurveSteps, deletion / CurveSteps);
    }

    /// <summary>
    /// <paramref name="target"/> with its first <paramref name="count"/> pixels of <paramref name="order"/> taken from
    /// <paramref name="source"/>.
    /// </summary>
    public static RgbImage Replaced(RgbImage target, RgbImage source, int[] order, int count)
    {
        int plane = target.PixelCount;
        var planes = (byte[])target.Planes.Clone();
        for (int i = 0; i < count; i++)
        {
            int p = order[i];
            planes[p] = source.Planes[p];
            planes[plane + p] = source.Planes[plane + p];
            planes[2 * plane + p] = source.Planes[2 * plane + p];
        }
        return new RgbImage(target.Width, target.Height, planes);
    }

    /// <summary>
    /// The "removed" state: three box blurs of radius width/28 (8 px at 224), close to a Gaussian of sigma 8.5 px, wide enough
    /// to erase a tumour's edges and texture while keeping the head's outline and mean brightness, which stay in distribution.
    /// </summary>
    public static RgbImage Blurred(RgbImage image) => Perturbations.BoxBlur(image, BlurRadius(image.Width));

    private const int CurveSteps = 10;

    private static int BlurRadius(int width) => Math.Max(1, width / 28);

    /// <summary>The control map: the same cells, values and resolution, in random places.</summary>
    public static float[] Shuffled(float[] values, Random random)
    {
        var copy = (float[])values.Clone();
        random.Shuffle(copy);
        return copy;
    }

    /// <summary>
    /// The share of the map, min-max normalised and upsampled to the model's input as drawn, on pixels outside the head.
    /// </summary>
    public static double OutsideHeadShare(RgbImage input, GradCamMap map)
    {
        var upsampled = GradCamRenderer.NormaliseAndUpsample(map.Values, map.Width, map.Height, input.Width, input.Height);
        var head = HeadLocation.Mask(input);
        double total = 0, outside = 0;
        for (int p = 0; p < upsampled.Length; p++)
        {
            total += upsampled[p];
            outside += head[p] ? 0 : upsampled[p];
        }
        return total > 0 ? outside / total : 0;
    }

    /// <summary>
    /// Re-initialises the parameterised layers of a copy of the package from the output down, one more per step, with values
    /// drawn from a normal distribution of each tensor's own standard deviation, and compares each image's map for its
    /// originally predicted class with the original map.
    /// </summary>
    private static List<RandomisationStep> Randomisation(ClassifierModel model, CamMethod method,
        List<(RgbImage Input, GradCamMap Map, int Predicted)> inputs, int seed, TextWriter log)
    {
        var onnx = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(model.Directory, ModelManifest.OnnxFileName)));
        var layers = ParameterisedLayers(onnx.Graph, model.Manifest.Outputs.Logits);
        // An ensemble's members are randomised side by side: step s re-initialises the s-th layer from the top of every member.
        var stacks = model.Manifest.Members is { Count: > 0 } members
            ? Enumerable.Range(0, members.Count)
                .Select(i => layers.Where(l => l.Layer.StartsWith(EnsembleGraph.Prefix(i), StringComparison.Ordinal)).ToList()).ToList()
            : [layers];
        var initializers = onnx.Graph.Initializer.ToDictionary(i => i.Name);
        var random = new Random(seed);
        var steps = new List<RandomisationStep>();
        string folder = Directory.CreateTempSubdirectory("braintumor-randomised-").FullName;
        try
        {
            // The copy needs no out-of-distribution guard: only its maps are read.
            (model.Manifest with { OutOfDistribution = null }).Write(Path.Combine(folder, ModelManifest.FileName));
            for (int step = 0; step < Math.Min(MaxRandomisationSteps, stacks.Min(stack => stack.Count)); step++)
            {
                var reached = stacks.Select(stack => stack[stack.Count - 1 - step]).ToList();
                foreach (string name in reached.SelectMany(r => r.Tensors))
                {
                    Reinitialise(initializers[name], random);
                }
                string layer = string.Join(" + ", reached.Select(r => r.Layer));
                OnnxExporter.Save(onnx, Path.Combine(folder, ModelManifest.OnnxFileName));
                using var randomised = ClassifierModel.Load(folder,
                    new InferenceOptions { IntraOpThreads = Environment.ProcessorCount });
                double correlation = inputs.Average(i => RankCorrelation.Spearman(i.Map.Values,
                    randomised.Predict(i.Input, withGradCam: true, i.Predicted, method).GradCam!.Values));
                steps.Add(new RandomisationStep(step + 1, layer, Math.Round(correlation, 4)));
                log.WriteLine($"{method.Name()}: randomised {step + 1} layer(s), down to {layer}: mean rank correlation with the " +
                              $"original maps {correlation:0.000}");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        return steps;
    }

    /// <summary>
    /// The forward pass's nodes with float weight initializers (convolutions, dense layers), in graph order up to the logits,
    /// each with the initializers it reads. The Grad-CAM graph reads the same initializers, so it follows the randomisation.
    /// </summary>
    private static List<(string Layer, List<string> Tensors)> ParameterisedLayers(GraphProto graph, string logits)
    {
        var floatInitializers = graph.Initializer
            .Where(i => i.DataType == (int)TensorProto.Types.DataType.Float && i.Dims.Count >= 1
                        && i.Dims.Aggregate(1L, (a, b) => a * b) > 1)
            .Select(i => i.Name).ToHashSet();
        var layers = new List<(string, List<string>)>();
        var claimed = new HashSet<string>();
        foreach (var node in graph.Node)
        {
            var tensors = node.Input.Where(floatInitializers.Contains).Where(claimed.Add).ToList();
            if (tensors.Count > 0 && node.OpType is "Conv" or "Gemm" or "MatMul")
            {
                layers.Add((string.IsNullOrEmpty(node.Name) ? node.Output[0] : node.Name, tensors));
            }
            else if (tensors.Count > 0)
            {
                // Parameters of other operators (a bias added separately, a batch norm) belong to the layer before them.
                if (layers.Count > 0) layers[^1].Item2.AddRange(tensors);
            }
            if (node.Output.Contains(logits))
            {
                break;
            }
        }
        return layers;
    }

    private static void Reinitialise(TensorProto tensor, Random random)
    {
        float[] values = tensor.RawData.Length > 0
            ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray()
            : tensor.FloatData.ToArray();
        double mean = values.Average(v => (double)v);
        double std = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        if (std == 0) std = 0.01;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(random.NextStandardNormal() * std);
        }
        tensor.FloatData.Clear();
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
    }
}
