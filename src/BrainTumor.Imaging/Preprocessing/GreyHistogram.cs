namespace BrainTumor.Imaging;

/// <summary>
/// Statistics of a 256-level grey histogram: its percentiles, Otsu's threshold, and the head/background threshold that the
/// head search, the intensity mapping and the CT check (<see cref="SkullRing"/>) all share.
/// </summary>
public static class GreyHistogram
{
    /// <summary>How many pixels have each grey level.</summary>
    public static int[] Of(ReadOnlySpan<byte> gray)
    {
        // Four partial histograms: MRI slices are mostly black, and counting run after run of zeros into one slot
        // makes every increment wait for the previous one.
        Span<int> partial = stackalloc int[4 * 256];
        partial.Clear();
        int p = 0;
        for (; p + 4 <= gray.Length; p += 4)
        {
            partial[gray[p]]++;
            partial[256 + gray[p + 1]]++;
            partial[512 + gray[p + 2]]++;
            partial[768 + gray[p + 3]]++;
        }
        for (; p < gray.Length; p++) partial[gray[p]]++;
        var histogram = new int[256];
        for (int v = 0; v < 256; v++)
        {
            histogram[v] = partial[v] + partial[256 + v] + partial[512 + v] + partial[768 + v];
        }
        return histogram;
    }

    /// <summary>Otsu's threshold (grey levels above it are foreground), or null for fewer than two grey levels.</summary>
    public static int? OtsuThreshold(ReadOnlySpan<int> histogram)
    {
        long total = 0;
        double sumAll = 0;
        for (int v = 0; v < 256; v++)
        {
            total += histogram[v];
            sumAll += v * (double)histogram[v];
        }
        double sumBelow = 0, bestVariance = -1;
        long countBelow = 0;
        int best = -1;
        for (int t = 0; t < 255; t++)
        {
            countBelow += histogram[t];
            sumBelow += t * (double)histogram[t];
            long countAbove = total - countBelow;
            if (countBelow == 0 || countAbove == 0) continue;
            double meanBelow = sumBelow / countBelow, meanAbove = (sumAll - sumBelow) / countAbove;
            double variance = (double)countBelow * countAbove * (meanBelow - meanAbove) * (meanBelow - meanAbove);
            if (variance > bestVariance)
            {
                bestVariance = variance;
                best = t;
            }
        }
        return best < 0 ? null : best;
    }

    /// <summary>
    /// The grey level that separates head from background: Otsu's threshold, then moved to halfway between the
    /// medians of the two sides until it settles. Otsu's threshold alone falls as black border is added, which widened
    /// the crop; the medians hardly move, since the border only adds to the background's zeros. Null for an image with
    /// fewer than two grey levels.
    /// </summary>
    public static int? HeadThreshold(ReadOnlySpan<int> histogram)
    {
        if (OtsuThreshold(histogram) is not int threshold)
        {
            return null;
        }
        for (int step = 0; step < 10; step++)
        {
            double low = Percentile(histogram[..(threshold + 1)], 0.5);
            double high = threshold + 1 + Percentile(histogram[(threshold + 1)..], 0.5);
            int next = (int)((low + high) / 2);
            if (next == threshold || histogram[(next + 1)..].IndexOfAnyExcept(0) < 0) break;
            threshold = next;
        }
        return threshold;
    }

    /// <summary>The lowest level at or below which <paramref name="quantile"/> of the counted pixels lie; 0 for none.</summary>
    internal static double Percentile(ReadOnlySpan<int> histogram, double quantile)
    {
        long total = 0;
        foreach (int c in histogram) total += c;
        if (total == 0) return 0;
        long rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (int v = 0; v < histogram.Length; v++)
        {
            seen += histogram[v];
            if (seen >= Math.Max(1, rank)) return v;
        }
        return histogram.Length - 1;
    }
}
