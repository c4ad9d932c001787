namespace BrainTumor.Models;

/// <summary>Reading a model's output: one probability per label, in the manifest's label order.</summary>
public static class ClassProbabilities
{
    /// <summary>The label of slices without a tumour, which tumour sensitivity and the sensitive operating point turn on.</summary>
    public const string NoTumorLabel = "no_tumor";

    /// <summary>Index of the largest value; the first one on ties.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best]) best = i;
        }
        return best;
    }

    public static int ArgMax(float[] values) => ArgMax(values.AsSpan());

    /// <summary>
    /// The answer at an operating point that favours tumours: the most probable class when class <paramref name="noTumor"/>
    /// is at least <paramref name="noTumorMinimum"/> likely, otherwise the most probable of the other classes. A minimum of 0
    /// is the plain argmax.
    /// </summary>
    public static int Decide(ReadOnlySpan<float> probabilities, int noTumor, double noTumorMinimum)
    {
        if (probabilities[noTumor] >= noTumorMinimum)
        {
            return ArgMax(probabilities);
        }
        int best = noTumor == 0 ? 1 : 0;
        for (int i = 0; i < probabilities.Length; i++)
        {
            if (i != noTumor && probabilities[i] > probabilities[best]) best = i;
        }
        return best;
    }

    /// <summary>The probabilities keyed by label, for JSON answers.</summary>
    public static IReadOnlyDictionary<string, float> ByLabel(IReadOnlyList<string> labels, ReadOnlySpan<float> probabilities)
    {
        var byLabel = new Dictionary<string, float>(labels.Count, StringComparer.Ordinal);
        for (int i = 0; i < labels.Count; i++)
        {
            byLabel[labels[i]] = probabilities[i];
        }
        return byLabel;
    }
}
