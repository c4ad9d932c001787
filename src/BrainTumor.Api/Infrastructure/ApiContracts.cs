using BrainTumor.Imaging.Dicom;
using BrainTumor.Inference;
using BrainTumor.Models;

namespace BrainTumor.Api.Infrastructure;

/// <summary>Width and height in pixels of the uploaded image (after EXIF orientation).</summary>
public sealed record ImageSize(int Width, int Height);

/// <summary>The answer of <c>POST /predict</c>.</summary>
/// <param name="Model">Name of the model that answered.</param>
/// <param name="ModelVersion">Its version, from its manifest.</param>
/// <param name="Label">The most probable class.</param>
/// <param name="Confidence">Its probability.</param>
/// <param name="Probabilities">Probability of every class, by label.</param>
/// <param name="Image">Size of the uploaded image.</param>
/// <param name="Timings">Milliseconds spent decoding and resizing, in ONNX Runtime, and in total in the server.</param>
/// <param name="Dicom">For a DICOM upload: its Study, Series and SOP Instance UIDs, the frame and window used, and a warning when
/// the slice is not axial; no patient attribute. Absent for other formats.</param>
/// <param name="OperatingPoint">How the label was chosen: <c>argmax</c>, or <c>sensitive</c> (a tumour class unless <c>no_tumor</c> reaches
/// the model's fitted minimum); <paramref name="Confidence"/> is the chosen label's probability either way.</param>
/// <param name="InDistribution">The model's out-of-distribution guard: <c>ok</c> false means the image is unlike anything the model was
/// trained on, and the answer should not be trusted. Absent for a model without a guard.</param>
public sealed record PredictionResponse(
    string Model, string ModelVersion, string Label, float Confidence, IReadOnlyDictionary<string, float> Probabilities, ImageSize Image, Timings Timings,
    DicomImageInfo? Dicom, string OperatingPoint, InDistribution? InDistribution);

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

public static class ApiContracts
{
    public static IReadOnlyDictionary<string, float> Probabilities(ClassifiedImage result) =>
        ClassProbabilities.ByLabel(result.Model.Manifest.Labels, result.Prediction.Probabilities);
}
