namespace BrainTumor.Evaluation;

/// <summary>Correlations between two maps: Spearman's rank correlation, the measure Adebayo et al. (2018) compare explanation maps with, and Pearson's.</summary>
public static class RankCorrelation
{
    /// <summary>
    /// The Pearson correlation of the values' ranks, tied values sharing their average rank (Grad-CAM maps have many zeros
    /// from the ReLU). 0 when either side is constant, since a constant map ranks nothing.
    /// </summary>
    public static double Spearman(ReadOnlySpan<float> first, ReadOnlySpan<float> second)
    {
        CheckLengths(first, second);
        return Pearson(Ranks(first), Ranks(second));
    }

    /// <summary>The Pearson correlation of the values themselves; 0 when either side is constant.</summary>
    public static double Pearson(ReadOnlySpan<float> first, ReadOnlySpan<float> second)
    {
        CheckLengths(first, second);
        var a = new double[first.Length];
        var b = new double[second.Length];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = first[i];
            b[i] = second[i];
        }
        return Pearson(a, b);
    }

    private static void CheckLengths(ReadOnlySpan<float> first, ReadOnlySpan<float> second)
    {
        if (first.Length != second.Length)
        {
            throw new ArgumentException($"Maps of {first.Length} and {second.Length} values cannot be compared.");
        }
    }

    private static double Pearson(double[] a, double[] b)
    {
        double meanA = a.Average(), meanB = b.Average();
        double covariance = 0, varianceA = 0, varianceB = 0;
        for (int i = 0; i < a.Length; i++)
        {
            covariance += (a[i] - meanA) * (b[i] - meanB);
            varianceA += (a[i] - meanA) * (a[i] - meanA);
            varianceB += (b[i] - meanB) * (b[i] - meanB);
        }
        return varianceA == 0 || varianceB == 0 ? 0 : covariance / Math.Sqrt(varianceA * varianceB);
    }

    private static double[] Ranks(ReadOnlySpan<float> values)
    {
        var copy = values.ToArray();
        var order = Enumerable.Range(0, copy.Length).OrderBy(i => copy[i]).ToArray();
        var ranks = new double[copy.Length];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && copy[order[end + 1]] == copy[order[start]]) end++;
            double average = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = average;
            start = end + 1;
        }
        return ranks;
    }
}
