using BrainTumor.Api.Infrastructure;
using BrainTumor.Imaging.Rendering;
using BrainTumor.Models;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace BrainTumor.Api.Endpoints;

public static class PredictionEndpoints
{
    /// <summary>The answers <c>format</c> selects.</summary>
    public static readonly string[] Formats = ["json", "png"];

    /// <summary>How <c>operatingPoint</c> turns probabilities into a label: the most probable class, or the model's sensitive point.</summary>
    public static readonly string[] OperatingPoints = ["argmax", "sensitive"];

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
        string point = (operatingPoint ?? "argmax").ToLowerInvariant();
        if (!OperatingPoints.Contains(point))
        {
            return Problems.BadParameter("Invalid operatingPoint", $"operatingPoint must be one of {string.Join(", ", OperatingPoints)}, not '{operatingPoint}'.");
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
        var manifest = chosen.Value!.Manifest;
        // Set only for the sensitive point: a package may have no no_tumor class at all (an imported classifier).
        (int Index, double Minimum)? noTumor = null;
        if (point == "sensitive")
        {
            if (manifest.SensitiveOperatingPoint is not { } fitted || !manifest.Labels.Contains(ClassProbabilities.NoTumorLabel))
            {
                return Problems.BadParameter("No sensitive operating point",
                    $"Model '{manifest.Name}' has no fitted sensitive operating point; 'braintumor record-cv' fits one from a cross-validation run.");
            }
            noTumor = (manifest.Labels.ToList().IndexOf(ClassProbabilities.NoTumorLabel), fitted.NoTumorMinimum);
        }
        return await pipeline.RunAsync<Results<Ok<PredictionResponse>, FileContentHttpResult, ProblemHttpResult>>(
            context, chosen.Value!, withGradCam: false, targetClass: null, dicom.Value!, render: (result, timings) =>
            {
                var probabilities = result.Prediction.Probabilities;
                int answer = noTumor is (int index, double minimum) ? ClassProbabilities.Decide(probabilities, index, minimum) : ClassProbabilities.ArgMax(probabilities);
                string label = manifest.Labels[answer];
                if (png.Value)
                {
                    using var annotated = Annotator.Caption(result.Image, Caption(label, probabilities[answer]));
                    return TypedResults.File(ImageEncoder.Png(annotated), "image/png");
                }
                return TypedResults.Ok(new PredictionResponse(result.Model.Name, result.Model.Manifest.Version, label,
                    probabilities[answer], ApiContracts.Probabilities(result), new ImageSize(result.Image.Width, result.Image.Height), timings, result.Dicom,
                    point, result.Prediction.InDistribution));
            }, refuse: problem => problem);
    }

    public static string Caption(string label, float confidence) => $"{DisplayLabel(label)}  {confidence * 100:0.0}%";

    /// <summary>A label as people read it: <c>glioma_tumor</c> is "Glioma tumor".</summary>
    public static string DisplayLabel(string label) => $"{char.ToUpperInvariant(label[0])}{label[1..].Replace('_', ' ')}";

    /// <summary>Whether the request's Accept header names <paramref name="mediaType"/> exactly.</summary>
    public static bool Accepts(HttpRequest request, string mediaType) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase));
}
