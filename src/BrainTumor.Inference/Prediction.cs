using System.Globalization;

namespace BrainTumor.Inference;

/// <summary>A Grad-CAM map at the model's target layer, before upsampling.</summary>
public sealed record GradCamMap(int ClassIndex, string Label, int Width, int Height, float[] Values);

/// <summary>
/// The out-of-distribution guard's verdict: <paramref name="Ok"/> when <paramref name="Score"/> is at most <paramref name="Threshold"/>.
/// </summary>
/// <param name="Reason">Why the image was flagged, in a sentence for the user; null when it was not.</param>
public sealed record InDistribution(double Score, double Threshold, bool Ok, string? Reason)
{
    /// <summary>The verdict on a score, with the guard's threshold and the share of held-out training-source slices that pass it.</summary>
    public static InDistribution Judge(double score, double threshold, double targetAcceptance) => score <= threshold
        ? new(score, threshold, true, null)
        : new(score, threshold, false, string.Create(CultureInfo.InvariantCulture,
            $"Its features are unlike those of the training slices: out-of-distribution score {score:0}, " +
            $"above the limit of {threshold:0} that {targetAcceptance * 100:0}% of held-out training-source slices stay under."));
}

/// <param name="InDistribution">Null when the model has no out-of-distribution guard.</param>
public sealed record Prediction(
    int ClassIndex, string Label, float Confidence, float[] Probabilities, GradCamMap? GradCam, double InferenceMilliseconds,
    InDistribution? InDistribution);
