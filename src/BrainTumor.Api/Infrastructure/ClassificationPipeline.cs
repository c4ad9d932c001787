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
/// the window used, the frame, the UIDs and any orientation warning, and its bytes (<c>Upload</c>), which DICOM output copies its study from.
/// <c>FullSizeImage</c> is the decoded upload at its own size when the answer draws on it (see <see cref="Image"/>).
/// </summary>
public sealed record ClassifiedImage(ClassifierModel Model, ImageSize Size, SKBitmap? FullSizeImage, InputRegion Region, Prediction Prediction,
    double DecodeMs, DicomImageInfo? Dicom, ReadOnlyMemory<byte> Upload)
{
    /// <summary>
    /// The decoded upload at its own size. The model may have read a JPEG decoded smaller, so only a request that draws on the upload
    /// (<c>drawsOnImage</c>) pays for a full-size decode.
    /// </summary>
    public SKBitmap Image => FullSizeImage ?? throw new InvalidOperationException("The answer draws on the upload but did not ask for it (drawsOnImage).");

    /// <summary>The probability of every class, by label, as the answers give them.</summary>
    public IReadOnlyDictionary<string, float> ProbabilitiesByLabel => ClassProbabilities.ByLabel(Model.Manifest.Labels, Prediction.Probabilities);
}

/// <summary>
/// The path every classification request takes: choose the model, read the upload, wait for a slot
/// (or be refused with 503), decode, run the model, and render the response while still holding the slot,
/// since rendering is CPU work too.
/// </summary>
public sealed class ClassificationPipeline(
    ModelCatalog catalog, AdmissionQueue admission, UploadBudget budget, ImageUploads uploads, ServerMetrics metrics,
    IDiagnosticContext diagnostics, IOptions<ServerLimitsOptions> limits,
    IOptions<OutOfDistributionOptions> outOfDistribution)
{
    public Attempt<ClassifierModel> ResolveModel(string? name) =>
        catalog.Find(name) is ClassifierModel model ? model : Problems.UnknownModel(name, catalog.All.Select(m => m.Name));

    /// <param name="context">The request, whose body holds the image.</param>
    /// <param name="model">The model that answers.</param>
    /// <param name="withGradCam">Also compute the Grad-CAM map.</param>
    /// <param name="targetClass">The class Grad-CAM explains; null for the predicted class.</param>
    /// <param name="dicom">How to render a DICOM upload (window, frame).</param>
    /// <param name="render">Builds the answer from the prediction, while the request still holds its slot.</param>
    /// <param name="method">How the map is made, when <paramref name="withGradCam"/>.</param>
    /// <param name="point">How the probabilities become the answer: the label is decided here, once, for both the answer and the request log.</param>
    /// <param name="drawsOnImage"><paramref name="render"/> draws on the upload, so it needs <see cref="ClassifiedImage.Image"/> at full size.</param>
    /// <typeparam name="TJson">The JSON answer; an image route may answer with a file instead, and any step with a problem.</typeparam>
    public async Task<Results<Ok<TJson>, FileContentHttpResult, ProblemHttpResult>> RunAsync<TJson>(HttpContext context, ClassifierModel model,
        bool withGradCam, int? targetClass, DicomReadOptions dicom,
        Func<ClassifiedImage, Timings, Results<Ok<TJson>, FileContentHttpResult, ProblemHttpResult>> render,
        CamMethod method = CamMethod.GradCam, OperatingPoint point = OperatingPoint.Argmax, bool drawsOnImage = false)
    {
        var clock = Stopwatch.StartNew();
        diagnostics.Set("Model", model.Name);
        // Memory is reserved before the body is read: concurrent large uploads get 503, not the heap.
        using var reservation = budget.TryReserve(budget.ShareFor(context.Request));
        if (reservation is null)
        {
            return Busy(context);
        }
        var upload = await uploads.ReadAsync(context.Request, context.RequestAborted);
        if (upload.Problem is ProblemHttpResult unreadable)
        {
            return unreadable;
        }

        using var lease = await admission.TryEnterAsync(context.RequestAborted);
        if (lease is null)
        {
            return Busy(context);
        }

        var decodeClock = Stopwatch.StartNew();
        var decoded = uploads.Decode(upload.Value!, dicom, model.InputSize);
        if (decoded.Problem is ProblemHttpResult undecodable)
        {
            return undecodable;
        }
        using var image = decoded.Value!.Bitmap;
        if (SlicePlausibility.Problem(image, decoded.Value.Dicom?.Modality) is { } implausible)
        {
            return Problems.NotASlice(implausible);
        }
        var input = model.Prepare(image);
        var fullSize = decoded.Value.FullSize;
        bool scaled = fullSize != new SKSizeI(image.Width, image.Height);
        // The model reads the smaller decode; a picture drawn on the upload is drawn on a full-size decode of it, so it stays sharp.
        SKBitmap? fullSizeDecode = null;
        if (drawsOnImage && scaled)
        {
            var again = uploads.Decode(upload.Value!, dicom);
            if (again.Problem is ProblemHttpResult undecodableAtFullSize)
            {
                return undecodableAtFullSize;
            }
            fullSizeDecode = again.Value!.Bitmap;
        }
        using var fullSizeImage = fullSizeDecode;
        var region = scaled ? input.Region.Scaled((float)fullSize.Width / image.Width, (float)fullSize.Height / image.Height) : input.Region;
        double decodeMs = decodeClock.Elapsed.TotalMilliseconds;

        var prediction = model.Predict(input.Pixels, withGradCam, targetClass, method, point);
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
        return render(new ClassifiedImage(model, new ImageSize(fullSize.Width, fullSize.Height), drawsOnImage ? fullSizeImage ?? image : null, region,
                prediction, decodeMs, decoded.Value.Dicom, upload.Value),
            new Timings(Math.Round(decodeMs, 2), Math.Round(prediction.InferenceMilliseconds, 2), Math.Round(clock.Elapsed.TotalMilliseconds, 2)));
    }

    private ProblemHttpResult Busy(HttpContext context) => Busy(context, admission, limits.Value);

    /// <summary>503 with a Retry-After of the queue's measured wait, and never less than the configured minimum.</summary>
    internal static ProblemHttpResult Busy(HttpContext context, AdmissionQueue admission, ServerLimitsOptions limits)
    {
        double seconds = Math.Max(limits.RetryAfterSeconds, Math.Ceiling(admission.EstimatedWait.TotalSeconds));
        context.Response.Headers.RetryAfter = ((int)Math.Min(seconds, 3600)).ToString(CultureInfo.InvariantCulture);
        return Problems.ServerBusy();
    }
}
