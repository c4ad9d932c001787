using BrainTumor.Models;

namespace BrainTumor.Evaluation;

/// <summary>One point of a ROC curve.</summary>
public sealed record RocPoint(double FalsePositiveRate, double TruePositiveRate);

/// <summary>One bin of a reliability diagram: predictions whose confidence fell in [Lower, Upper).</summary>
public sealed record ReliabilityBin(double Lower, double Upper, int Count, double MeanConfidence, double Accuracy);

/// <summary>
/// Metrics that need the predicted probabilities, not only the predicted class: one-vs-rest ROC AUC,
/// log-loss, expected calibration error, and the classification metrics and MCC of the most probable class.
/// </summary>
public sealed record ProbabilisticMetrics(
    ClassificationMetrics Classification,
    double MacroAuc,
    IReadOnlyList<double> ClassAuc,
    double Mcc,
    double LogLoss,
    double ExpectedCalibrationError,
    IReadOnlyList<ReliabilityBin> Reliability)
{
    public const int CalibrationBins = 15;

    public static ProbabilisticMetrics Compute(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> truth, IReadOnlyList<string> labels)
    {
        if (probabilities.Count != truth.Count)
        {
            throw new ArgumentException($"{probabilities.Count} predictions but {truth.Count} true labels.");
        }
        if (probabilities.Any(p => p.Length != labels.Count))
        {
            throw new ArgumentException($"Every prediction must have {labels.Count} probabilities.");
        }
        var predicted = probabilities.Select(ClassProbabilities.ArgMax).ToArray();
        var classification = ClassificationMetrics.Compute(truth, predicted, labels);
        var classAuc = Enumerable.Range(0, labels.Count)
            .Select(c => RocAuc(probabilities.Select(p => (double)p[c]).ToList(), truth.Select(t => t == c).ToList()))
            .ToList();
        var present = classAuc.Where(a => !double.IsNaN(a)).ToList();
        var reliability = ReliabilityBins(probabilities, truth, CalibrationBins);
        return new ProbabilisticMetrics(
            classification,
            present.Count == 0 ? double.NaN : present.Average(),
            classAuc,
            MatthewsCorrelation(classification.ConfusionMatrix),
            MeanLogLoss(probabilities, truth),
            reliability.Sum(b => b.Count * Math.Abs(b.Accuracy - b.MeanConfidence)) / truth.Count,
            reliability);
    }

    /// <summary>
    /// Exact area under the ROC curve: the probability that a random positive scores above a random
    /// negative, ties counting one half (Mann-Whitney with average ranks). NaN when a side is empty.
    /// </summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        int n = scores.Count;
        var order = Enumerable.Range(0, n).OrderBy(i => scores[i]).ToArray();
        var ranks = new double[n];
        for (int start = 0; start < n;)
        {
            int end = start;
            while (end + 1 < n && scores[order[end + 1]] == scores[order[start]]) end++;
            double averageRank = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = averageRank;
            start = end + 1;
        }
        long positives = positive.Count(p => p), negatives = n - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }
        double rankSum = Enumerable.Range(0, n).Where(i => positive[i]).Sum(i => ranks[i]);
        return (rankSum - positives * (positives + 1) / 2.0) / (positives * (double)negatives);
    }

    /// <summary>The ROC curve's corners, from (0, 0) to (1, 1), one step per distinct score.</summary>
    public static IReadOnlyList<RocPoint> RocCurve(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        int positives = positive.Count(p => p), negatives = positive.Count - positives;
        var points = new List<RocPoint> { new(0, 0) };
        if (positives == 0 || negatives == 0)
        {
            return points;
        }
        int truePositives = 0, falsePositives = 0;
        foreach (var group in Enumerable.Range(0, scores.Count).GroupBy(i => scores[i]).OrderByDescending(g => g.Key))
        {
            foreach (int i in group)
            {
                if (positive[i]) truePositives++; else falsePositives++;
            }
            points.Add(new RocPoint((double)falsePositives / negatives, (double)truePositives / positives));
        }
        return points;
    }

    /// <summary>Multiclass Matthews correlation coefficient (Gorodkin's R_K) from a [true][predicted] confusion matrix.</summary>
    public static double MatthewsCorrelation(int[][] confusion)
    {
        int classes = confusion.Length;
        double total = confusion.Sum(row => (double)row.Sum());
        double correct = Enumerable.Range(0, classes).Sum(k => (double)confusion[k][k]);
        var trueCounts = confusion.Select(row => (double)row.Sum()).ToArray();
        var predictedCounts = Enumerable.Range(0, classes).Select(k => confusion.Sum(row => (double)row[k])).ToArray();
        double covariance = correct * total - trueCounts.Zip(predictedCounts, (t, p) => t * p).Sum();
        double truthSpread = total * total - trueCounts.Sum(t => t * t);
        double predictionSpread = total * total - predictedCounts.Sum(p => p * p);
        return truthSpread == 0 || predictionSpread == 0 ? 0 : covariance / Math.Sqrt(truthSpread * predictionSpread);
    }

    /// <summary>Mean negative log-probability of the true class (probabilities clipped at 1e-15).</summary>
    public static double MeanLogLoss(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> truth) =>
        -Enumerable.Range(0, truth.Count).Average(i => Math.Log(Math.Max(probabilities[i][truth[i]], 1e-15)));

    /// <summary>Equal-width confidence bins over [0, 1]; confidence is the top probability, accuracy whether it was right.</summary>
    public static IReadOnlyList<ReliabilityBin> ReliabilityBins(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> truth, int bins)
    {
        var counts = new int[bins];
        var confidenceSums = new double[bins];
        var correctSums = new double[bins];
        for (int i = 0; i < truth.Count; i++)
        {
            int predicted = ClassProbabilities.ArgMax(probabilities[i]);
            double confidence = probabilities[i][predicted];
            int bin = Math.Min((int)(confidence * bins), bins - 1);
            counts[bin]++;
            confidenceSums[bin] += confidence;
            correctSums[bin] += predicted == truth[i] ? 1 : 0;
        }
        return Enumerable.Range(0, bins).Select(b => new ReliabilityBin(
            (double)b / bins, (double)(b + 1) / bins, counts[b],
            counts[b] == 0 ? 0 : confidenceSums[b] / counts[b],
            counts[b] == 0 ? 0 : correctSums[b] / counts[b])).ToList();
    }
}
