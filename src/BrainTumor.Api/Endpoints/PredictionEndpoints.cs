using BrainTumor.Api.Infrastructure;
using BrainTumor.Imaging.Rendering;
using BrainTumor.Inference;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BrainTumor.Api.Endpoints;

public static class PredictionEndpoints
{
    public static IEndpointRouteBuilder MapPredictionEndpoints(this IEndpointRouteBuilder app)
    {
        // The route sits on the endpoint, not the group's prefix: a group's "" route is "/predict/" in the metrics' http.route.
        app.MapGroup("")
            .WithTags("Prediction")
            .MapPost("/predict", Predict)
            .WithName("Predict")
            .WithSummary("Classify one MRI slice")
            .WithDescription("Upload a JPEG, PNG, BMP, WebP or DICOM image " +
                             "(multipart field 'image', or the raw body with an image/* or application/dicom content type). " +
                             "Returns JSON, or with Accept: image/png or ?format=png the image with the label and confidence drawn on it.")
            .AcceptsImageUpload<PredictionResponse>();
        return app;
    }

    /// <param name="context">The request; the image is read from its body.</param>
    /// <param name="pipeline">The classification path.</param>
    /// <param name="query">The options, checked by <see cref="PredictQuery.Parse"/> before the upload is read.</param>
    public static async Task<Results<Ok<PredictionResponse>, FileContentHttpResult, ProblemHttpResult>> Predict(
        HttpContext context, ClassificationPipeline pipeline, [AsParameters] PredictQuery query)
    {
        var parsed = query.Parse(context.Request, pipeline);
        if (parsed.Problem is ProblemHttpResult problem)
        {
            return problem;
        }
        var request = parsed.Value!;
        var classified = await pipeline.ClassifyAsync(context, request.Model, withGradCam: false, targetClass: null, request.Dicom,
            point: request.Point, drawsOnImage: request.Format == PredictFormat.Png);
        if (classified.Problem is ProblemHttpResult refused)
        {
            return refused;
        }
        using var result = classified.Value!;
        return Answer(request, result);
    }

    private static Results<Ok<PredictionResponse>, FileContentHttpResult, ProblemHttpResult> Answer(
        PredictRequest request, ClassifiedImage result)
    {
        var answer = result.Prediction;
        if (request.Format == PredictFormat.Png)
        {
            using var annotated = Annotator.Caption(result.Image, Caption(answer.Label, answer.Confidence));
            return TypedResults.File(ImageEncoder.Png(annotated), "image/png");
        }
        return TypedResults.Ok(new PredictionResponse(result.Model.Name, result.Model.Manifest.Version, answer.Label, answer.Confidence,
            result.ProbabilitiesByLabel, result.Size, result.Timings, result.Dicom, request.Point.Name(), answer.InDistribution));
    }

    public static string Caption(string label, float confidence) => $"{DisplayLabel(label)}  {confidence * 100:0.0}%";

    /// <summary>A label as people read it: <c>glioma_tumor</c> is "Glioma tumor".</summary>
    public static string DisplayLabel(string label) => $"{char.ToUpperInvariant(label[0])}{label[1..].Replace('_', ' ')}";

    /// <summary>Whether the request's Accept header names <paramref name="mediaType"/> exactly.</summary>
    public static bool Accepts(HttpRequest request, string mediaType) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase));
}
