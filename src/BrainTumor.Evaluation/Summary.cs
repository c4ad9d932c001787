namespace BrainTumor.Evaluation;

/// <summary>Mean, sample standard deviation and 95% confidence interval of a metric over folds (Student's t).</summary>
public sealed record Summary(int N, double Mean, double Std, double Lower, double Upper)
{
    // Two-sided 95% quantiles of Student's t for 1 to 30 degrees of freedom.
    private static readonly double[] T975 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    public static double TQuantile975(int degreesOfFreedom) =>
        degreesOfFreedom < 1 ? double.NaN : degreesOfFreedom <= T975.Length ? T975[degreesOfFreedom - 1] : 1.96;

    /// <summary>
    /// Summarises <paramref name="values"/>; the interval is clipped to the metric's possible range
    /// [<paramref name="minimum"/>, <paramref name="maximum"/>], since with few folds the t interval of, say, an
    /// accuracy near 1 would otherwise reach past 1.
    /// </summary>
    public static Summary Of(IReadOnlyList<double> values, double minimum = double.NegativeInfinity,
        double maximum = double.PositiveInfinity)
    {
        if (values.Count == 0)
        {
            throw new ArgumentException("A summary needs at least one value.");
        }
        double mean = values.Average();
        if (values.Count == 1)
        {
            return new Summary(1, mean, double.NaN, double.NaN, double.NaN);
        }
        double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        double half = TQuantile975(values.Count - 1) * std / Math.Sqrt(values.Count);
        return new Summary(values.Count, mean, std, Math.Max(minimum, mean - half), Math.Min(maximum, mean + half));
    }

    public override string ToString() => N == 1 ? $"{Mean:F3}" : $"{Mean:F3} ± {Std:F3}";
}
