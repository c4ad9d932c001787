using BrainTumor.Api.Infrastructure;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Inference;

namespace BrainTumor.Api.Endpoints;

/// <summary>The Grad-CAM map of <c>POST /gradcam?output=json</c>.</summary>
/// <param name="Class">The class the map explains.</param>
/// <param name="Method">How the map was made: <c>gradcam</c>, <c>hirescam</c> or <c>gradcampp</c>.</param>
/// <param name="Width">Columns of <paramref name="Matrix"/> (the model's Grad-CAM layer).</param>
/// <param name="Height">Rows of <paramref name="Matrix"/>.</param>
/// <param name="Matrix">The raw map before normalisation and upsampling, row by row.</param>
/// <param name="MaskPng">Base64 PNG of the min-max normalised map upsampled to the image's size (8-bit grayscale).</param>
public sealed record GradCamPayload(string Class, string Method, int Width, int Height, float[][] Matrix, string MaskPng);

/// <summary>The answer of <c>POST /gradcam?output=json</c>: the fields of the <c>/predict</c> answer (with the most probable class)
/// and the map.</summary>
public sealed record GradCamResponse(
    string Model, string ModelVersion, string Label, float Confidence, IReadOnlyDictionary<string, float> Probabilities,
    ImageSize Image, GradCamPayload GradCam, Timings Timings, DicomImageInfo? Dicom, InDistribution? InDistribution);
