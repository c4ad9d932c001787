namespace BrainTumor.Inference;

/// <summary>A Grad-CAM map at the model's target layer, before upsampling.</summary>
public sealed record GradCamMap(int ClassIndex, string Label, int Width, int Height, float[] Values);

public sealed record Prediction(int ClassIndex, string Label, float Confidence, float[] Probabilities, GradCamMap? GradCam, double InferenceMilliseconds);
