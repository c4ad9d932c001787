using System.Globalization;
using BrainTumor.Api.Infrastructure;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Imaging.Rendering;
using BrainTumor.Inference;
using Microsoft.AspNetCore.Http.HttpResults;
using SkiaSharp;

namespace BrainTumor.Api.Endpoints;

public static class GradCamEndpoints
{
    public static IEndpointRouteBuilder MapGradCamEndpoints(this IEndpointRouteBuilder app)
    {
        // As for /predict: the route on the endpoint keeps the metrics' http.route free of a trailing slash.
        app.MapGroup("")
            .WithTags("Grad-CAM")
            .MapPost("/gradcam", GradCam)
            .WithName("GradCam")
            .WithSummary("Show what the classification rests on")
            .WithDescription("Upload an image as for /predict. Returns a PNG at the image's size: " +
                             "the Grad-CAM heatmap (JET, min-max normalised, " +
                             "upsampled bilinearly) blended over the image (output=overlay, the default), the heatmap alone (heatmap), " +
                             "the 8-bit map (mask), or JSON with the prediction, the raw low-resolution map and a base64 mask PNG (json).")
            .AcceptsImageUpload<GradCamResponse>();
        return app;
    }

    /// <param name="context">The request; the image is read from its body.</param>
    /// <param name="pipeline">The classification path.</param>
    /// <param name="query">The options, checked by <see cref="GradCamQuery.Parse"/> before the upload is read.</param>
    public static async Task<Results<Ok<GradCamResponse>, FileContentHttpResult, ProblemHttpResult>> GradCam(
        HttpContext context, ClassificationPipeline pipeline, [AsParameters] GradCamQuery query)
    {
        var parsed = query.Parse(pipeline);
        if (parsed.Problem is ProblemHttpResult problem)
        {
            return problem;
        }
        var request = parsed.Value!;
        var classified = await pipeline.ClassifyAsync(context, request.Model, withGradCam: true, request.TargetClass, request.Dicom,
            request.Method, drawsOnImage: request.Output == GradCamOutput.Overlay);
        if (classified.Problem is ProblemHttpResult refused)
        {
            return refused;
        }
        using var result = classified.Value!;
        return Answer(context, request, result);
    }

    private static Results<Ok<GradCamResponse>, FileContentHttpResult, ProblemHttpResult> Answer(
        HttpContext context, GradCamRequest request, ClassifiedImage result)
    {
        var cam = result.Prediction.GradCam!;
        int width = result.Size.Width, height = result.Size.Height;
        float[] map = GradCamRenderer.NormaliseAndUpsample(cam.Values, cam.Width, cam.Height, width, height, result.Region);
        if (request.Output == GradCamOutput.Json)
        {
            using var mask = GradCamRenderer.Mask(map, width, height);
            var matrix = Enumerable.Range(0, cam.Height).Select(row => cam.Values.AsSpan(row * cam.Width, cam.Width).ToArray()).ToArray();
            var payload = new GradCamPayload(cam.Label, request.Method.Name(), cam.Width, cam.Height, matrix,
                Convert.ToBase64String(ImageEncoder.Png(mask)));
            return TypedResults.Ok(new GradCamResponse(result.Model.Name, result.Model.Manifest.Version, result.Prediction.Label,
                result.Prediction.Confidence, result.ProbabilitiesByLabel, new ImageSize(width, height), payload, result.Timings,
                result.Dicom, result.Prediction.InDistribution));
        }
        context.Response.Headers["X-GradCam-Class"] = cam.Label;
        context.Response.Headers["X-GradCam-Method"] = request.Method.Name();
        context.Response.Headers["X-Predicted-Label"] = result.Prediction.Label;
        context.Response.Headers["X-Confidence"] = result.Prediction.Confidence.ToString("0.0000", CultureInfo.InvariantCulture);
        using var picture = request.Output switch
        {
            GradCamOutput.Heatmap => GradCamRenderer.Heatmap(map, width, height),
            GradCamOutput.Mask => GradCamRenderer.Mask(map, width, height),
            _ => GradCamRenderer.Overlay(result.Image, map, request.Alpha),
        };
        using var annotated = request.Annotate ? LegendFor(result, cam.Label, request.Method).DrawBelow(picture) : null;
        if (PredictionEndpoints.Accepts(context.Request, DicomImage.MediaType))
        {
            return SecondaryCaptureOf(result, cam.Label, request.Method, annotated ?? picture, request.Output,
                burnedIn: annotated is not null);
        }
        return TypedResults.File(ImageEncoder.Png(annotated ?? picture), "image/png");
    }

    /// <summary>
    /// The picture as a DICOM Secondary Capture in a new series of the input's study, with the answer written in the image
    /// comments (and, when annotated, drawn in the legend below the picture); only for a DICOM input, whose study it joins.
    /// </summary>
    private static Results<Ok<GradCamResponse>, FileContentHttpResult, ProblemHttpResult> SecondaryCaptureOf(
        ClassifiedImage result, string explained, CamMethod method, SKBitmap picture, GradCamOutput output, bool burnedIn)
    {
        if (result.Dicom is null)
        {
            return Problems.BadParameter("DICOM output needs a DICOM input",
                "Accept: application/dicom files the picture in the input's study, so the input must be a DICOM file; " +
                "ask for image/png otherwise.");
        }
        return TypedResults.File(Capture(result, explained, method, picture, output, burnedIn), DicomImage.MediaType);
    }

    /// <summary>
    /// The annotated overlay for the predicted class, as <c>/gradcam</c> with <c>Accept: application/dicom</c> and no other option
    /// makes it: what a DICOMweb result sends to the PACS beside the SR.
    /// </summary>
    public static byte[] OverlayCapture(ClassifiedImage result, CamMethod method)
    {
        var cam = result.Prediction.GradCam!;
        float[] map = GradCamRenderer.NormaliseAndUpsample(cam.Values, cam.Width, cam.Height, result.Image.Width, result.Image.Height,
            result.Region);
        using var picture = GradCamRenderer.Overlay(result.Image, map, GradCamRenderer.DefaultAlpha);
        using var annotated = LegendFor(result, cam.Label, method).DrawBelow(picture);
        return Capture(result, cam.Label, method, annotated, GradCamOutput.Overlay, burnedIn: true);
    }

    private static byte[] Capture(ClassifiedImage result, string explained, CamMethod method, SKBitmap picture, GradCamOutput output,
        bool burnedIn)
    {
        string comments = $"BrainTumor {result.Model.Name} {result.Model.Manifest.Version}: {result.Prediction.Label} " +
                          $"{result.Prediction.Confidence.ToString("0.000", CultureInfo.InvariantCulture)}; " +
                          $"{method.DisplayName()} {output.Name()} for {explained}. " +
                          "Research software, not for diagnostic use.";
        string derivation = $"{method.DisplayName()} {output.Name()} of the source image for class {explained}, " +
            $"computed by model {result.Model.Name}";
        return SecondaryCapture.Create(result.Upload, picture, comments, derivation, burnedIn);
    }

    private static GradCamLegend LegendFor(ClassifiedImage result, string explained, CamMethod method) =>
        new(PredictionEndpoints.DisplayLabel(explained), PredictionEndpoints.DisplayLabel(result.Prediction.Label),
            result.Prediction.Confidence, result.Model.Name, result.Model.Manifest.Version, method.DisplayName());
}
