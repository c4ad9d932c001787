using System.Diagnostics;
using System.Globalization;
using BrainTumor.Imaging;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Inference;
using BrainTumor.Models;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Serilog;
using SkiaSharp;

namespace BrainTumor.Api.Infrastructure;

public sealed record Timings(double DecodeMs, double InferenceMs, double TotalMs);

/// <summary>
/// An upload's size, the part of it the model saw (in the upload's pixels), and what the model made of it; for a DICOM upload also
/// the window used, the frame, the UIDs and any orientation warning, and its bytes (<c>Upload</c>), which DICOM output copies its study
/// from.
/// <c>FullSizeImage</c> is the decoded upload at its own size when the answer draws on it (see <see cref="Image"/>).
/// Disposing it gives back what the request holds (<see cref="Held"/>): its queue slot, its memory reservation and its bitmaps.
/// </summary>
public sealed record ClassifiedImage(
    ClassifierModel Model, ImageSize Size, SKBitmap? FullSizeImage, InputRegion Region, Prediction Prediction,
    DicomImageInfo? Dicom, ReadOnlyMemory<byte> Upload) : IDisposable
{
    /// <summary>
    /// The decoded upload at its own size. The model may have read a JPEG decoded smaller, so only a request that draws on the upload
    /// (<c>drawsOnImage</c>) pays for a full-size decode.
    /// </summary>
    public SKBitmap Image =>
        FullSizeImage ?? throw new InvalidOperationException("The answer draws on the upload but did not ask for it (drawsOnImage).");

    /// <summary>The probability of every class, by label, as the answers give them.</summary>
    public IReadOnlyDictionary<string, float> ProbabilitiesByLabel =>
        ClassProbabilities.ByLabel(Model.Manifest.Labels, Prediction.Probabilities);

    public Timings Timings { get; init; } = new(0, 0, 0);

    public IDisposable? Held { get; init; }

    public void Dispose() => Held?.Dispose();
}

/// <summary>
/// The path every classification request takes: read the upload and wait for a slot (<see cref="RequestAdmission"/>), decode,
/// check that it is a slice, run the model and apply the out-of-distribution policy. The answer is rendered from the returned
/// <see cref="ClassifiedImage"/>, which still holds the slot, since rendering is CPU work too.
/// </summary>
public sealed class ClassificationPipeline(
    ModelCatalog catalog, RequestAdmission admission, ImageUploads uploads, ServerMetrics metrics,
    IDiagnosticContext diagnostics, IOptions<OutOfDistributionOptions> outOfDistribution)
{
    public Attempt<ClassifierModel> ResolveModel(string? name) =>
        catalog.Find(name) is ClassifierModel model ? model : Problems.UnknownModel(name, catalog.All.Select(m => m.Name));

    /// <param name="context">The request, whose body holds the image.</param>
    /// <param name="model">The model that answers.</param>
    /// <param name="withGradCam">Also compute the Grad-CAM map.</param>
    /// <param name="targetClass">The class Grad-CAM explains; null for the predicted class.</param>
    /// <param name="dicom">How to render a DICOM upload (window, frame).</param>
    /// <param name="method">How the map is made, when <paramref name="withGradCam"/>.</param>
    /// <param name="point">How the probabilities become the answer: the label is decided here, once, for both the answer and the request
    /// log.</param>
    /// <param name="drawsOnImage">The answer draws on the upload, so it needs <see cref="ClassifiedImage.Image"/> at full size.</param>
    /// <returns>The classified upload, to be disposed once the answer is rendered; or why there is none.</returns>
    public async Task<Attempt<ClassifiedImage>> ClassifyAsync(HttpContext context, ClassifierModel model, bool withGradCam,
        int? targetClass, DicomReadOptions dicom, CamMethod method = CamMethod.GradCam, OperatingPoint point = OperatingPoint.Argmax,
        bool drawsOnImage = false)
    {
        var clock = Stopwatch.StartNew();
        diagnostics.Set("Model", model.Name);
        var admitted = await admission.AdmitAsync(context, uploads.ReadAsync);
        if (admitted.Problem is ProblemHttpResult refused)
        {
            return refused;
        }
        var upload = admitted.Value!;
        try
        {
            var classified = Classify(context, upload, model, withGradCam, targetClass, dicom, method, point, drawsOnImage, clock);
            if (classified.Problem is not null)
            {
                upload.Dispose();
            }
            return classified;
        }
        catch
        {
            upload.Dispose();
            throw;
        }
    }

    private Attempt<ClassifiedImage> Classify(HttpContext context, Admitted<byte[]> upload, ClassifierModel model, bool withGradCam,
        int? targetClass, DicomReadOptions dicom, CamMethod method, OperatingPoint point, bool drawsOnImage, Stopwatch clock)
    {
        var decodeClock = Stopwatch.StartNew();
        var decoded = uploads.Decode(upload.Body, dicom, model.InputSize);
        if (decoded.Problem is ProblemHttpResult undecodable)
        {
            return undecodable;
        }
        var image = upload.Held.Add(decoded.Value!.Bitmap);
        if (SlicePlausibility.Problem(image, decoded.Value.Dicom?.Modality) is { } implausible)
        {
            return Problems.NotASlice(implausible);
        }
        var input = model.Prepare(image);
        var fullSize = decoded.Value.FullSize;
        bool scaled = fullSize != new SKSizeI(image.Width, image.Height);
        // The model reads the smaller decode; a picture drawn on the upload is drawn on a full-size decode of it, so it stays sharp.
        var fullSizeImage = drawsOnImage ? image : null;
        if (drawsOnImage && scaled)
        {
            var again = uploads.Decode(upload.Body, dicom);
            if (again.Problem is ProblemHttpResult undecodableAtFullSize)
            {
                return undecodableAtFullSize;
            }
            fullSizeImage = upload.Held.Add(again.Value!.Bitmap);
        }
        var region = scaled
            ? input.Region.Scaled((float)fullSize.Width / image.Width, (float)fullSize.Height / image.Height)
            : input.Region;
        double decodeMs = decodeClock.Elapsed.TotalMilliseconds;

        var prediction = model.Predict(input.Pixels, withGradCam, targetClass, method, point);
        model.Recycle(input.Pixels);
        metrics.RecordInference(model.Name, prediction.InferenceMilliseconds);
        diagnostics.Set("Label", prediction.Label);
        if (prediction.InDistribution is { } guard)
        {
            diagnostics.Set("InDistribution", guard.Ok);
            context.Response.Headers["X-In-Distribution"] = guard.Ok ? "true" : "false";
            context.Response.Headers["X-In-Distribution-Score"] = guard.Score.ToString("0.###", CultureInfo.InvariantCulture);
            if (!guard.Ok && outOfDistribution.Value.Policy == OutOfDistributionPolicy.Refuse)
            {
                return Problems.OutOfDistribution(model.Name, guard.Score, guard.Threshold);
            }
        }
        return new ClassifiedImage(model, new ImageSize(fullSize.Width, fullSize.Height), fullSizeImage, region, prediction,
            decoded.Value.Dicom, upload.Body)
        {
            Timings = new Timings(Math.Round(decodeMs, 2), Math.Round(prediction.InferenceMilliseconds, 2),
                Math.Round(clock.Elapsed.TotalMilliseconds, 2)),
            Held = upload,
        };
    }
}
