using BrainTumor.Api.Infrastructure;
using BrainTumor.Imaging.Rendering;
using BrainTumor.Inference;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace BrainTumor.Api.Endpoints;

public static class PredictionEndpoints
{
    /// <summary>The answers <c>format</c> selects.</summary>
    public static readonly string[] Formats = ["json", "png"];

    public static IEndpointRouteBuilder MapPredictionEndpoints(this IEndpointRouteBuilder app)
    {
        // The route sits on the endpoint, not the group's prefix: a group's "" route is "/predict/" in the metrics' http.route.
        app.MapGroup("")
            .WithTags("Prediction")
            .MapPost("/predict", Predict)
            .WithName("Predict")
            .WithSummary("Classify one MRI slice")
            .WithDescription("Upload a JPEG, PNG, BMP, WebP or DICOM image (multipart field 'image', or the raw body with an image/* or application/dicom content type). " +
                             "Returns JSON, or with Accept: image/png or ?format=png the image with the label and confidence drawn on it.")
            .AcceptsImageUpload<PredictionResponse>();
        return app;
    }

    /// <param name="context">The request; the image is read from its body.</param>
    /// <param name="pipeline">The classification path.</param>
    /// <param name="model">Model to use (see GET /models); the default model when absent.</param>
    /// <param name="format"><c>json</c> (default) or <c>png</c> (the image with the answer drawn on it).</param>
    /// <param name="window">DICOM only: <c>center,width</c> to use instead of the file's window.</param>
    /// <param name="frame">DICOM only: the frame of a multi-frame image, from 1 (default: the middle one).</param>
    /// <param name="operatingPoint"><c>argmax</c> (default): the most probable class; <c>sensitive</c>: a tumour class unless
    /// <c>no_tumor</c> is at least as likely as the model's fitted minimum (its manifest's <c>sensitiveOperatingPoint</c>).</param>
    public static async Task<Results<Ok<PredictionResponse>, FileContentHttpResult, ProblemHttpResult>> Predict(
        HttpContext context, ClassificationPipeline pipeline, [FromQuery] string? model, [FromQuery] string? format,
        [FromQuery] string? window, [FromQuery] string? frame, [FromQuery] string? operatingPoint)
    {
        if (OperatingPoints.Parse(operatingPoint) is not OperatingPoint point)
        {
            return Problems.BadParameter("Invalid operatingPoint", $"operatingPoint must be one of {string.Join(", ", OperatingPoints.Names)}, not '{operatingPoint}'.");
        }
        var dicom = ImageUploads.DicomOptions(window, frame);
        if (dicom.Problem is ProblemHttpResult badDicomOption)
        {
            return badDicomOption;
        }
        bool? png = format?.ToLowerInvariant() switch
        {
            null => Accepts(context.Request, "image/png") && !Accepts(context.Request, "application/json"),
            "json" => false,
            "png" => true,
            _ => null,
        };
        if (png is null)
        {
            return Problems.BadParameter("Invalid format", $"format must be 'json' or 'png', not '{format}'.");
        }
        var chosen = pipeline.ResolveModel(model);
        if (chosen.Problem is ProblemHttpResult unknown)
        {
            return unknown;
        }
        if (OperatingPoints.Unavailable(chosen.Value!.Manifest, point) is string unavailable)
        {
            return Problems.BadParameter("No sensitive operating point", unavailable);
        }
        return await pipeline.RunAsync<Results<Ok<PredictionResponse>, FileContentHttpResult, ProblemHttpResult>>(
            context, chosen.Value!, withGradCam: false, targetClass: null, dicom.Value!, render: (result, timings) =>
            {
                var answer = result.Prediction;
                if (png.Value)
                {
                    using var annotated = Annotator.Caption(result.Image, Caption(answer.Label, answer.Confidence));
                    return TypedResults.File(ImageEncoder.Png(annotated), "image/png");
                }
                return TypedResults.Ok(new PredictionResponse(result.Model.Name, result.Model.Manifest.Version, answer.Label,
                    answer.Confidence, ApiContracts.Probabilities(result), result.Size, timings, result.Dicom,
                    point.Name(), answer.InDistribution));
            }, refuse: problem => problem, point: point, drawsOnImage: png.Value);
    }

    public static string Caption(string label, float confidence) => $"{DisplayLabel(label)}  {confidence * 100:0.0}%";

    /// <summary>A label as people read it: <c>glioma_tumor</c> is "Glioma tumor".</summary>
    public static string DisplayLabel(string label) => $"{char.ToUpperInvariant(label[0])}{label[1..].Replace('_', ' ')}";

    /// <summary>Whether the request's Accept header names <paramref name="mediaType"/> exactly.</summary>
    public static bool Accepts(HttpRequest request, string mediaType) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase));
}
