namespace BrainTumor.Models;

/// <summary>Reading a model's output: one probability per label, in the manifest's label order.</summary>
public static class ClassProbabilities
{
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
