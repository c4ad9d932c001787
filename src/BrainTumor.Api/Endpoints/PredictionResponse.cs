using BrainTumor.Api.Infrastructure;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Inference;

namespace BrainTumor.Api.Endpoints;

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
    string Model, string ModelVersion, string Label, float Confidence, IReadOnlyDictionary<string, float> Probabilities, ImageSize Image,
    Timings Timings, DicomImageInfo? Dicom, string OperatingPoint, InDistribution? InDistribution);
