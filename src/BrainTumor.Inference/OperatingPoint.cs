using BrainTumor.Models;

namespace BrainTumor.Inference;

/// <summary>How a model's probabilities become its answer.</summary>
public enum OperatingPoint
{
    /// <summary>The most probable class.</summary>
    Argmax,

    /// <summary>
    /// A tumour class unless <c>no_tumor</c> is at least as likely as the model's fitted minimum (its manifest's
    /// <c>sensitiveOperatingPoint</c>): fewer missed tumours for more false alarms.
    /// </summary>
    Sensitive,
}

public static class OperatingPoints
{
    /// <summary>The names the API's <c>operatingPoint</c> and the CLI's <c>--operating-point</c> take.</summary>
    public static readonly string[] Names = ["argmax", "sensitive"];

    public static string Name(this OperatingPoint point) => Names[(int)point];

    public static OperatingPoint? Parse(string? name) =>
        name is null ? OperatingPoint.Argmax : NamedChoices.Parse<OperatingPoint>(Names, name);

    /// <summary>Why the model cannot answer at <paramref name="point"/>; null when it can.</summary>
    public static string? Unavailable(ModelManifest manifest, OperatingPoint point) =>
        point == OperatingPoint.Sensitive
            && (manifest.SensitiveOperatingPoint is null || !manifest.Labels.Contains(ClassProbabilities.NoTumorLabel))
            ? $"Model '{manifest.Name}' has no fitted sensitive operating point; " +
                "'braintumor record-cv' fits one from a cross-validation run."
            : null;

    /// <summary>The class the model answers at <paramref name="point"/>.</summary>
    public static int Decide(ModelManifest manifest, ReadOnlySpan<float> probabilities, OperatingPoint point)
    {
        if (Unavailable(manifest, point) is string why)
        {
            throw new InvalidOperationException(why);
        }
        return point == OperatingPoint.Sensitive
            ? ClassProbabilities.Decide(probabilities, manifest.Labels.ToList().IndexOf(ClassProbabilities.NoTumorLabel),
                manifest.SensitiveOperatingPoint!.NoTumorMinimum)
            : ClassProbabilities.ArgMax(probabilities);
    }
}
