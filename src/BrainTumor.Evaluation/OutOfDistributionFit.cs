using System.Numerics.Tensors;
using System.Text;
using System.Text.Json;
using BrainTumor.Data;
using BrainTumor.Imaging;
using BrainTumor.Inference;
using BrainTumor.Models;
using SkiaSharp;

namespace BrainTumor.Evaluation;

/// <summary>
/// Fits a package's out-of-distribution guard and measures it: class means and a shared covariance of the penultimate
/// features on the package's training split, the threshold on its held-out split, then AUROC and flag rates on
/// <see cref="OutOfDistributionSet"/> and acceptance on an external labelled set. Other scores are measured beside it, so that
/// the report shows why this one is shipped.
/// </summary>
public sealed class OutOfDistributionFit
{
    /// <summary>The fixed shrinkage measured beside the Ledoit-Wolf estimate the guard uses.</summary>
    private const double FixedShrinkage = 0.01;
    private const int OutOfDistributionSetSeed = 20;

    private const string HeldOutGroup = "held-out (in distribution)";
    private const string ExternalGroup = "external (in distribution)";
    private const string ExternalCtGroup = "head CT, external";
    private const string TrainingCtGroup = "head CT, Training (trained on)";

    private sealed record Scored(
        string Group, string Name, double Guard, double[] Alternatives, string? RefusedBeforeModel, string? Plane = null)
    {
        public bool Flagged(Func<Scored, double> score, double threshold) => RefusedBeforeModel is not null || score(this) > threshold;
    }

    private readonly IReadOnlyList<Scored> scored;
    private readonly IReadOnlyList<string> alternatives;
    private readonly double acceptance;
    private readonly bool annotated;

    private OutOfDistributionFit(FeatureDistribution distribution, IReadOnlyList<Scored> scored, IReadOnlyList<string> alternatives,
        double acceptance, bool annotated)
    {
        Distribution = distribution;
        this.scored = scored;
        this.alternatives = alternatives;
        this.acceptance = acceptance;
        this.annotated = annotated;
        Threshold = ThresholdOf(s => s.Guard);
    }

    /// <summary>The class means and shared covariance the guard measures the distance to.</summary>
    public FeatureDistribution Distribution { get; }

    /// <summary>The guard's score that accepts the target share of the held-out images.</summary>
    public double Threshold { get; }

    /// <param name="split">The package's training split of <paramref name="dataset"/>: fitted on its training part, thresholded on
    /// its held-out part.</param>
    /// <param name="external">A labelled set from other sources, measured for how much of it is accepted.</param>
    /// <param name="annotations">Images known by SHA-256 (<see cref="SliceAnnotations"/>): those annotated CT form the head-CT
    /// groups instead of counting as in distribution, and the planes give the acceptance per plane.</param>
    /// <param name="acceptance">Share of the held-out images the threshold accepts.</param>
    public static OutOfDistributionFit Run(ClassifierModel classifier, ImageFolderDataset dataset, DuplicateAwareSplit.Split split,
        ImageFolderDataset external, IReadOnlyDictionary<string, SliceAnnotation> annotations, double acceptance, TextWriter log,
        ProgressStart progress)
    {
        var embed = progress(split.Train.Count + split.Validation.Count + external.Samples.Count, "features");
        int done = 0;
        (float[] Logits, float[] Features) Embed(RgbImage image)
        {
            var result = classifier.Embed(image);
            embed(++done);
            return result;
        }
        var train = split.Train.Select(i => Embed(dataset.Samples[i].Image)).ToList();
        var heldOut = split.Validation.Select(i => Embed(dataset.Samples[i].Image)).ToList();
        var externalEmbedded = external.Samples.Select(s => Embed(s.Image)).ToList();

        var trainFeatures = train.Select(t => t.Features).ToList();
        var trainLabels = split.Train.Select(i => dataset.Samples[i].Label).ToList();
        int classes = classifier.Manifest.Labels.Count;
        var distribution = FeatureDistribution.Fit(trainFeatures, trainLabels, classes, shrinkage: null);
        var alternatives = new AlternativeScores(trainFeatures,
            FeatureDistribution.Fit(trainFeatures, trainLabels, classes, FixedShrinkage));
        Scored Score(string group, string name, (float[] Logits, float[] Features) embedded, string? refused = null,
            string? plane = null) =>
            new(group, name, distribution.Score(embedded.Features), alternatives.Score(embedded), refused, plane);

        bool IsCt(LabelledImage image) => annotations.GetValueOrDefault(image.Sha256)?.Modality == "CT";
        // The slices go through the same checks before the model as a request does (colour, CT), on the file as uploaded.
        Scored Slice(string group, ImageFolderDataset data, LabelledImage image, (float[] Logits, float[] Features) embedded)
        {
            using var bitmap = ImageLoader.Decode(File.ReadAllBytes(Path.Combine(data.Root, image.RelativePath)));
            string? plane = annotations.GetValueOrDefault(image.Sha256)?.Plane;
            return Score(group, image.RelativePath, embedded, SlicePlausibility.Problem(bitmap)?.Detail, plane);
        }

        var scored = new List<Scored>();
        // The held-out MRI slices set the threshold on the guard's score alone, whatever the checks before the model say; its CT
        // slices are scored with the Training split's others.
        scored.AddRange(split.Validation.Zip(heldOut)
            .Where(v => !IsCt(dataset.Samples[v.First]))
            .Select(v => Slice(HeldOutGroup, dataset, dataset.Samples[v.First], v.Second)));
        scored.AddRange(external.Samples.Zip(externalEmbedded, (s, e) => Slice(IsCt(s) ? ExternalCtGroup : ExternalGroup, external, s, e)));
        var trainingCt = split.Train.Concat(split.Validation).Where(i => IsCt(dataset.Samples[i])).Order().ToList();
        scored.AddRange(trainingCt.Select(i =>
            Slice(TrainingCtGroup, dataset, dataset.Samples[i], classifier.Embed(dataset.Samples[i].Image))));
        var externalFiles = external.Samples.Select(s => Path.Combine(external.Root, s.RelativePath)).ToList();
        foreach (var image in OutOfDistributionSet.Build(externalFiles, OutOfDistributionSetSeed, log))
        {
            SKBitmap bitmap;
            try
            {
                bitmap = image.Load();
            }
            catch (ImageDecodeException ex)
            {
                // Another version of a Debian package may ship a file this reader does not decode; the report lists what was used.
                log.WriteLine($"warning: {image.Name} left out: {ex.Message}");
                continue;
            }
            using var _ = bitmap;
            string? refused = Math.Min(bitmap.Width, bitmap.Height) < ImageLimits.Classification.MinSide
                ? $"smaller than {ImageLimits.Classification.MinSide} pixels"
                : SlicePlausibility.Problem(bitmap, image.Modality)?.Detail;
            scored.Add(Score(image.Group, image.Name, classifier.Embed(classifier.Prepare(bitmap).Pixels), refused));
        }
        return new OutOfDistributionFit(distribution, scored, alternatives.Names, acceptance, annotations.Count > 0);
    }

    /// <summary>The guard as <c>model.json</c> records it, with its measurement on the out-of-distribution set.</summary>
    /// <param name="statisticsFile">The file beside <c>model.json</c> that <see cref="Distribution"/> is saved to.</param>
    /// <param name="fittedOn">What the means and covariance were fitted on, in words.</param>
    /// <param name="reportFolder">Where <see cref="Save"/> writes the report.</param>
    public OutOfDistributionGuard Guard(string statisticsFile, string fittedOn, string reportFolder) =>
        new("mahalanobis", statisticsFile, Threshold, acceptance, Math.Round(Distribution.Shrinkage, 4), fittedOn,
            $"the {scored.Count(s => s.Group == HeldOutGroup)} held-out {(annotated ? "MRI slices" : "images")} of the same split",
            Evaluate(s => s.Guard, Threshold, reportFolder));

    /// <summary>
    /// Writes <c>report.md</c> and <c>scores.json</c> (every image's score and verdict) to the folder; returns the report.
    /// </summary>
    public string Save(ModelManifest manifest, OutOfDistributionGuard guard, string folder)
    {
        string report = Report(manifest, guard);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "report.md"), report);
        File.WriteAllText(Path.Combine(folder, "scores.json"), JsonSerializer.Serialize(scored.Select(s => new
        {
            s.Group, s.Name, mahalanobis = Math.Round(s.Guard, 3), flagged = s.RefusedBeforeModel is not null || s.Guard > Threshold,
            s.RefusedBeforeModel,
        }), ModelManifest.JsonOptions) + "\n");
        return report;
    }

    private double ThresholdOf(Func<Scored, double> score) =>
        Quantile(scored.Where(s => s.Group == HeldOutGroup).Select(score).ToList(), acceptance);

    private OutOfDistributionEvaluation Evaluate(Func<Scored, double> score, double threshold, string folder)
    {
        var inside = scored.Where(s => s.Group is HeldOutGroup or ExternalGroup).ToList();
        var external = scored.Where(s => s.Group == ExternalGroup).ToList();
        var groups = scored.Select(s => s.Group).Distinct().Where(g => g is not (HeldOutGroup or ExternalGroup)).Select(group =>
        {
            var members = scored.Where(s => s.Group == group).ToList();
            var both = inside.Concat(members).ToList();
            double auroc = ProbabilisticMetrics.RocAuc(both.Select(score).ToList(), both.Select(s => s.Group == group).ToList());
            double flagged = members.Count(s => s.Flagged(score, threshold)) / (double)members.Count;
            return new OutOfDistributionGroupScore(group, members.Count, Math.Round(auroc, 4), Math.Round(flagged, 4));
        }).ToList();
        return new OutOfDistributionEvaluation(ModelManifest.RecordedPath(folder),
            Math.Round(external.Count(s => !s.Flagged(score, threshold)) / (double)external.Count, 4), groups, DateTimeOffset.UtcNow);
    }

    private string Report(ModelManifest manifest, OutOfDistributionGuard guard)
    {
        var text = new StringBuilder();
        text.AppendLine($"# Out-of-distribution guard: {manifest.Name} {manifest.Version}");
        text.AppendLine();
        text.AppendLine($"Measured {DateTimeOffset.UtcNow:yyyy-MM-dd} on {Machine.Description} by `braintumor fit-ood` (see the README).");
        text.AppendLine();
        text.AppendLine("The guard: the squared Mahalanobis distance of the penultimate features (the spatial mean of " +
                        $"`{manifest.GradCam.Layer}`, {manifest.GradCam.Channels} values) to the nearest class mean, one " +
                        "covariance shared by the classes, shrunk towards the identity by the Ledoit-Wolf estimate " +
                        $"({guard.Shrinkage}). Means and covariance from {guard.FittedOn}; threshold {guard.Threshold:0.###}, " +
                        $"the score that accepts {acceptance:P1} of {guard.ThresholdSetOn}. An image is flagged when its score is " +
                        "above the threshold, or when a check before the model refuses it (smaller than 64 pixels, wider than 3:1, " +
                        "clearly coloured, almost uniform, or a skull like CT's).");
        text.AppendLine();
        text.AppendLine("In distribution: the held-out images (which set the threshold) and the external labelled set (never fitted on). " +
                        $"Out of distribution: {scored.Count(s => s.Group is not (HeldOutGroup or ExternalGroup))} images, built by " +
                        "`OutOfDistributionSet` from Debian's python3-pydicom and python3-skimage files, synthetic images, and the " +
                        "external slices made implausible (one of: rotated 90 degrees, inverted, central 30%).");
        text.AppendLine();
        text.AppendLine("| group | images | AUROC | flagged |");
        text.AppendLine("| --- | --- | --- | --- |");
        foreach (string group in new[] { HeldOutGroup, ExternalGroup })
        {
            var members = scored.Where(s => s.Group == group).ToList();
            double flagged = members.Count(s => s.Flagged(s => s.Guard, guard.Threshold)) / (double)members.Count;
            text.AppendLine($"| {group} | {members.Count} | | {flagged:0.000} |");
        }
        foreach (var group in guard.Evaluation!.Groups)
        {
            text.AppendLine($"| {group.Group} | {group.Images} | {group.Auroc:0.000} | {group.Flagged:0.000} |");
        }
        text.AppendLine();
        var planes = scored.Where(s => s.Plane is not null && s.Group is HeldOutGroup or ExternalGroup).ToList();
        if (planes.Count > 0)
        {
            text.AppendLine("## Accepted slices by plane");
            text.AppendLine();
            text.AppendLine("The in-distribution slices whose plane a person recorded (the lesion-box files), accepted by the checks " +
                            "before the model and the guard.");
            text.AppendLine();
            text.AppendLine("| group | plane | slices | accepted |");
            text.AppendLine("| --- | --- | --- | --- |");
            var cells = planes.GroupBy(s => (s.Group, s.Plane))
                .OrderBy(g => g.Key.Group == ExternalGroup).ThenBy(g => g.Key.Plane, StringComparer.Ordinal);
            foreach (var cell in cells)
            {
                double accepted = cell.Count(s => !s.Flagged(s => s.Guard, guard.Threshold)) / (double)cell.Count();
                text.AppendLine($"| {cell.Key.Group} | {cell.Key.Plane} | {cell.Count()} | {accepted:0.000} |");
            }
            text.AppendLine();
        }
        text.AppendLine("## Other scores, measured the same way");
        text.AppendLine();
        text.AppendLine("Each with its own threshold at the same acceptance of the held-out images. AUROC per out-of-distribution group; " +
                        "the last column is the share of the external set accepted.");
        text.AppendLine();
        var groups = guard.Evaluation.Groups.Select(g => g.Group).ToList();
        text.AppendLine($"| score | {string.Join(" | ", groups.Select(g => $"AUROC {g}"))} | external accepted |");
        text.AppendLine($"| --- |{string.Concat(Enumerable.Repeat(" --- |", groups.Count + 1))}");
        void Row(string name, Func<Scored, double> score)
        {
            var evaluation = Evaluate(score, ThresholdOf(score), ".");
            string aurocs = string.Join(" | ", evaluation.Groups.Select(g => g.Auroc.ToString("0.000")));
            text.AppendLine($"| {name} | {aurocs} | {evaluation.ExternalAcceptance:0.000} |");
        }
        Row($"mahalanobis, Ledoit-Wolf shrinkage {guard.Shrinkage} (shipped)", s => s.Guard);
        for (int i = 0; i < alternatives.Count; i++)
        {
            int index = i;
            Row(alternatives[index], s => s.Alternatives[index]);
        }
        text.AppendLine();
        text.AppendLine("## Flagged out-of-distribution images, and those let through");
        text.AppendLine();
        foreach (var image in scored.Where(s =>
                     s.Group is not (HeldOutGroup or ExternalGroup or OutOfDistributionSet.ImplausibleSlices or TrainingCtGroup)))
        {
            string verdict = image.RefusedBeforeModel is string why ? $"refused before the model ({why})"
                : image.Guard > guard.Threshold ? "flagged" : "**let through**";
            text.AppendLine($"- {image.Group}: {image.Name}: score {image.Guard:0.#}, {verdict}");
        }
        return text.ToString();
    }

    /// <summary>The value below which <paramref name="share"/> of <paramref name="values"/> lie (linear interpolation).</summary>
    private static double Quantile(IReadOnlyList<double> values, double share)
    {
        var sorted = values.Order().ToArray();
        double position = share * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    /// <summary>
    /// Scores from the literature measured beside the shipped one: the same distance with a fixed shrinkage, the maximum softmax
    /// probability (Hendrycks and Gimpel 2017), the energy score (Liu et al. 2020) and the distance to the k-th nearest training
    /// feature after L2 normalisation (Sun et al. 2022). Each is oriented so that higher means more out of distribution.
    /// </summary>
    private sealed class AlternativeScores(IReadOnlyList<float[]> trainFeatures, FeatureDistribution fixedShrinkage)
    {
        private const int Neighbours = 10;
        private readonly float[][] normalised = trainFeatures.Select(Normalise).ToArray();

        public IReadOnlyList<string> Names { get; } =
        [
            $"mahalanobis, fixed shrinkage {fixedShrinkage.Shrinkage}", "maximum softmax probability", "energy",
            $"{Neighbours}-nearest-neighbour distance",
        ];

        public double[] Score((float[] Logits, float[] Features) embedded)
        {
            double max = embedded.Logits.Max();
            double sum = embedded.Logits.Sum(l => Math.Exp(l - max));
            double softmaxMax = 1 / sum;
            double logSumExp = max + Math.Log(sum);
            var query = Normalise(embedded.Features);
            var distances = normalised.Select(t => 1 - TensorPrimitives.Dot(t, query)).Order().ToArray();
            return [fixedShrinkage.Score(embedded.Features), 1 - softmaxMax, -logSumExp, distances[Neighbours - 1]];
        }

        private static float[] Normalise(float[] vector)
        {
            float norm = TensorPrimitives.Norm(vector);
            return vector.Select(v => norm > 0 ? v / norm : 0).ToArray();
        }
    }
}
