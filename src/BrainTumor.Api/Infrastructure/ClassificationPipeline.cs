using System.Diagnostics;
using BrainTumor.Imaging;
using BrainTumor.Inference;
using Serilog;
using SkiaSharp;

namespace BrainTumor.Api.Infrastructure;

public sealed record Timings(double DecodeMs, double InferenceMs, double TotalMs);

/// <summary>A decoded upload, the part of it the model saw, and what the model made of it.</summary>
public sealed record ClassifiedImage(ClassifierModel Model, SKBitmap Image, InputRegion Region, Prediction Prediction, double DecodeMs);

/// <summary>
/// The path every classification request takes: choose the model, read the upload, wait for a slot
/// (or be refused with 503), decode, run the model, and render the response while still holding the slot,
/// since rendering is CPU work too.
/// </summary>
public sealed class ClassificationPipeline(
    ModelCatalog catalog, AdmissionQueue admission, ImageUploads uploads, ServerMetrics metrics,
    IDiagnosticContext diagnostics, Microsoft.Extensions.Options.IOptions<ServerLimitsOptions> limits)
{
    public ClassifierModel ResolveModel(string? name) =>
        catalog.Find(name) ?? throw Problems.UnknownModel(name, catalog.All.Select(m => m.Name));

    public async Task<T> RunAsync<T>(HttpContext context, ClassifierModel model, bool withGradCam, int? targetClass,
        Func<ClassifiedImage, Timings, T> render)
    {
        var clock = Stopwatch.StartNew();
        diagnostics.Set("Model", model.Name);
        byte[] upload = await uploads.ReadAsync(context.Request, context.RequestAborted);

        using var lease = await admission.TryEnterAsync(context.RequestAborted);
        if (lease is null)
        {
            context.Response.Headers.RetryAfter = limits.Value.RetryAfterSeconds.ToString();
            throw new ApiProblemException(StatusCodes.Status503ServiceUnavailable, "Server busy",
                "Too many requests are waiting; retry after the time in the Retry-After header.");
        }

        var decodeClock = Stopwatch.StartNew();
        using var image = uploads.Decode(upload);
        var input = model.Prepare(image);
        double decodeMs = decodeClock.Elapsed.TotalMilliseconds;

        var prediction = model.Predict(input.Pixels, withGradCam, targetClass);
        metrics.RecordInference(prediction.InferenceMilliseconds);
        diagnostics.Set("Label", prediction.Label);
        return render(new ClassifiedImage(model, image, input.Region, prediction, decodeMs),
            new Timings(Math.Round(decodeMs, 2), Math.Round(prediction.InferenceMilliseconds, 2), Math.Round(clock.Elapsed.TotalMilliseconds, 2)));
    }
}
