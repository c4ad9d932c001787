namespace BrainTumor.Inference;

/// <summary>A Grad-CAM map at the model's target layer, before upsampling.</summary>
public sealed record GradCamMap(int ClassIndex, string Label, int Width, int Height, float[] Values);

/// <summary>The out-of-distribution guard's verdict: <paramref name="Ok"/> when <paramref name="Score"/> is at most <paramref name="Threshold"/>.</summary>
public sealed record InDistribution(double Score, double Threshold, bool Ok);

/// <param name="InDistribution">Null when the model has no out-of-distribution guard.</param>
public sealed record Prediction(
    int ClassIndex, string Label, float Confidence, float[] Probabilities, GradCamMap? GradCam, double InferenceMilliseconds, InDistribution? InDistribution);
