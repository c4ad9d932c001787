using BrainTumor.Data;
using BrainTumor.Inference;
using BrainTumor.Models;

namespace BrainTumor.Evaluation;

/// <summary>An 8-bit package against the float package it was made from, image by image on the float package's hold-out.</summary>
public static class QuantizationComparison
{
    /// <summary>
    /// How far the answers, the default method's maps and the guard's verdicts moved, and the 8-bit package's hold-out metrics as
    /// its <c>model.json</c> records them.
    /// </summary>
    /// <param name="heldOut">The float package's held-out split, indices into <paramref name="dataset"/>.</param>
    public static (QuantizationAgreement Agreement, ValidationMetrics Metrics) Compare(ClassifierModel floatModel,
        ClassifierModel quantizedModel, ImageFolderDataset dataset, IReadOnlyList<int> heldOut, TextWriter log, ProgressStart progress)
    {
        var labels = floatModel.Manifest.Labels;
        var camMethod = floatModel.DefaultCamMethod;
        var done = progress(heldOut.Count, "comparing on the held-out split");
        var floatProbabilities = new List<float[]>();
        var quantizedProbabilities = new List<float[]>();
        var correlations = new List<double>();
        double largestChange = 0;
        int verdictsChanged = 0;
        foreach (int index in heldOut)
        {
            var image = dataset.Samples[index].Image;
            var before = floatModel.Predict(image, withGradCam: true, method: camMethod);
            var after = quantizedModel.Predict(image, withGradCam: true, targetClass: before.ClassIndex, method: camMethod);
            floatProbabilities.Add(before.Probabilities);
            quantizedProbabilities.Add(after.Probabilities);
            largestChange = Math.Max(largestChange, before.Probabilities.Zip(after.Probabilities, (a, b) => (double)Math.Abs(a - b)).Max());
            correlations.Add(RankCorrelation.Pearson(before.GradCam!.Values, after.GradCam!.Values));
            verdictsChanged += before.InDistribution?.Ok != after.InDistribution?.Ok ? 1 : 0;
            done(floatProbabilities.Count);
        }
        int[] truth = heldOut.Select(i => dataset.Samples[i].Label).ToArray();
        var floatMetrics = ClassificationMetrics.Compute(truth, floatProbabilities.Select(ClassProbabilities.ArgMax).ToArray(), labels);
        var quantizedPredicted = quantizedProbabilities.Select(ClassProbabilities.ArgMax).ToArray();
        var quantizedMetrics = ClassificationMetrics.Compute(truth, quantizedPredicted, labels);
        int changed = floatProbabilities.Select(ClassProbabilities.ArgMax).Zip(quantizedPredicted).Count(p => p.First != p.Second);
        log.WriteLine($"held-out split, float: {WilsonInterval.Summary(floatMetrics)}");
        log.WriteLine($"held-out split, 8-bit: {WilsonInterval.Summary(quantizedMetrics)}");
        var agreement = new QuantizationAgreement(truth.Length, Math.Round(floatMetrics.Accuracy, 4),
            Math.Round(quantizedMetrics.Accuracy, 4), floatMetrics.TumourSensitivity is double f ? Math.Round(f, 4) : null,
            quantizedMetrics.TumourSensitivity is double q ? Math.Round(q, 4) : null, changed, Math.Round(largestChange, 4),
            camMethod.Name(), Math.Round(correlations.Average(), 4), Math.Round(correlations.Min(), 4),
            floatModel.Manifest.OutOfDistribution is null ? null : verdictsChanged, DateTimeOffset.UtcNow);
        var metrics = ManifestScores.Validation(quantizedMetrics, ProbabilisticMetrics.MeanLogLoss(quantizedProbabilities, truth),
            "ONNX Runtime on the 8-bit model.onnx, the held-out validation split");
        return (agreement, metrics);
    }
}
