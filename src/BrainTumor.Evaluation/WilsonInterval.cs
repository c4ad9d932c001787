using System.Globalization;

namespace BrainTumor.Evaluation;

/// <summary>
/// The Wilson score interval of a proportion: unlike the normal approximation it stays inside 0-1 and keeps its coverage
/// near 0 and 1 and at the small counts of an external test set (126 images give about ±0.08 at 0.7).
/// </summary>
public static class WilsonInterval
{
    /// <summary>z for a two-sided 95% interval.</summary>
    public const double Z95 = 1.959963984540054;

    public static (double Low, double High) Of(int successes, int trials, double z = Z95)
    {
        if (trials <= 0 || successes < 0 || successes > trials)
        {
            throw new ArgumentOutOfRangeException(nameof(successes), $"{successes} of {trials} is not a proportion.");
        }
        double p = (double)successes / trials, z2 = z * z;
        double centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
        double half = z / (1 + z2 / trials) * Math.Sqrt(p * (1 - p) / trials + z2 / (4.0 * trials * trials));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>"0.738 [0.655, 0.806] (93 of 126)".</summary>
    public static string Describe(int successes, int trials)
    {
        var (low, high) = Of(successes, trials);
        return string.Create(CultureInfo.InvariantCulture,
            $"{(double)successes / trials:0.000} [{low:0.000}, {high:0.000}] ({successes} of {trials})");
    }

    /// <summary>
    /// Accuracy, tumour sensitivity and each class's recall with their 95% Wilson intervals, in one sentence, from a
    /// confusion matrix indexed [true][predicted].
    /// </summary>
    public static string Summary(ClassificationMetrics metrics)
    {
        var matrix = metrics.ConfusionMatrix;
        int total = matrix.Sum(row => row.Sum()), correct = matrix.Select((row, t) => row[t]).Sum();
        var parts = new List<string>
        {
            $"accuracy {Describe(correct, total)}", string.Create(CultureInfo.InvariantCulture, $"macro-F1 {metrics.MacroF1:0.000}")
        };
        int noTumor = metrics.PerClass.ToList().FindIndex(c => c.Label == ClassificationMetrics.NoTumorLabel);
        if (noTumor >= 0)
        {
            int tumours = matrix.Where((_, t) => t != noTumor).Sum(row => row.Sum());
            if (tumours > 0)
            {
                parts.Add($"tumour sensitivity {Describe(tumours - metrics.TumoursMissed!.Value, tumours)}");
            }
        }
        for (int c = 0; c < matrix.Length; c++)
        {
            int support = matrix[c].Sum();
            if (support > 0)
            {
                parts.Add($"{metrics.PerClass[c].Label} recall {Describe(matrix[c][c], support)}");
            }
        }
        return string.Join("; ", parts) + " (95% Wilson intervals)";
    }
}
