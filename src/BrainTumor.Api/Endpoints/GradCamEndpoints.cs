using System.Globalization;
using BrainTumor.Api.Infrastructure;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Imaging.Rendering;
using BrainTumor.Inference;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using SkiaSharp;

namespace BrainTumor.Api.Endpoints;

public static class GradCamEndpoints
{
    /// <summary>The answers <c>output</c> selects.</summary>
    public static readonly string[] Outputs = ["overlay", "heatmap", "mask", "json"];

    public static IEndpointRouteBuilder MapGradCamEndpoints(this IEndpointRouteBuilder app)
    {
        // As for /predict: the route on the endpoint keeps the metrics' http.route free of a trailing slash.
        app.MapGroup("")
            .WithTags("Grad-CAM")
            .MapPost("/gradcam", GradCam)
            .WithName("GradCam")
            .WithSummary("Show what the classification rests on")
            .WithDescription("Upload an image as for /predict. Returns a PNG at the image's size: the Grad-CAM heatmap (JET, min-max normalised, " +
                             "upsampled bilinearly) blended over the image (output=overlay, the default), the heatmap alone (heatmap), " +
                             "the 8-bit map (mask), or JSON with the prediction, the raw low-resolution map and a base64 mask PNG (json).")
            .AcceptsImageUpload<GradCamResponse>();
        return app;
    }

    /// <param name="context">The request; the image is read from its body.</param>
    /// <param name="pipeline">The classification path.</param>
    /// <param name="model">Model to use (see GET /models); the default model when absent.</param>
    /// <param name="className">Label of the class to explain (see the model's labels); the predicted class when absent.</param>
    /// <param name="output"><c>overlay</c> (default), <c>heatmap</c>, <c>mask</c> or <c>json</c>.</param>
    /// <param name="alpha">Weight of the heatmap in the overlay, from 0 to 1 (default 0.4).</param>
    /// <param name="window">DICOM only: <c>center,width</c> to use instead of the file's window.</param>
    /// <param name="frame">DICOM only: the frame of a multi-frame image, from 1 (default: the middle one).</param>
    /// <param name="method"><c>gradcam</c>, <c>hirescam</c> (element-wise gradient x activation) or <c>gradcampp</c> (Grad-CAM++), all from
    /// the same ONNX Runtime run; by default the model's <c>defaultCamMethod</c> (GET /models), the one that failed fewest of its sanity checks.</param>
    /// <param name="annotate">Overlay, heatmap and DICOM output: <c>true</c> (default) adds a panel below the picture with the colour
    /// scale, the explained class, the answer and its confidence, the model and a research-use line; <c>false</c> gives the picture
    /// alone, at the image's size, for viewers that draw their own.</param>
    public static async Task<Results<Ok<GradCamResponse>, FileContentHttpResult, ProblemHttpResult>> GradCam(
        HttpContext context, ClassificationPipeline pipeline, [FromQuery] string? model,
        [FromQuery(Name = "class")] string? className, [FromQuery] string? output, [FromQuery] string? alpha,
        [FromQuery] string? window, [FromQuery] string? frame, [FromQuery] string? method, [FromQuery] bool? annotate)
    {
        CamMethod? asked = method is null ? null : CamMethods.Parse(method);
        if (method is not null && asked is null)
        {
            return Problems.BadParameter("Invalid method", $"method must be one of {string.Join(", ", CamMethods.Names)}, not '{method}'.");
        }
        var dicom = ImageUploads.DicomOptions(window, frame);
        if (dicom.Problem is ProblemHttpResult badDicomOption)
        {
            return badDicomOption;
        }
        string mode = (output ?? "overlay").ToLowerInvariant();
        if (!Outputs.Contains(mode))
        {
            return Problems.BadParameter("Invalid output", $"output must be one of {string.Join(", ", Outputs)}, not '{output}'.");
        }
        float blend = GradCamRenderer.DefaultAlpha;
        if (alpha is not null && (!float.TryParse(alpha, NumberStyles.Float, CultureInfo.InvariantCulture, out blend) || !(blend >= 0 && blend <= 1)))
        {
            return Problems.BadParameter("Invalid alpha", $"alpha must be a number from 0 to 1, not '{alpha}'.");
        }
        var resolved = pipeline.ResolveModel(model);
        if (resolved.Problem is ProblemHttpResult unknown)
        {
            return unknown;
        }
        var chosen = resolved.Value!;
        if (!chosen.HasGradCam)
        {
            return Problems.BadParameter("No Grad-CAM", $"Model '{chosen.Name}' was exported without a Grad-CAM graph.");
        }
        var camMethod = asked ?? CamMethods.Parse(chosen.Manifest.DefaultCamMethod) ?? CamMethod.GradCam;
        if (!chosen.CamMethodsAvailable.Contains(camMethod))
        {
            return Problems.BadParameter("Method not available",
                $"Model '{chosen.Name}' does not output the gradient and activation {method} needs; 'braintumor upgrade' adds them.");
        }
        int? target = null;
        if (className is not null)
        {
            int index = chosen.Manifest.Labels.ToList().IndexOf(className);
            if (index < 0)
            {
                return Problems.BadParameter("Unknown class", $"Model '{chosen.Name}' has no class '{className}'; its classes are {string.Join(", ", chosen.Manifest.Labels)}.");
            }
            target = index;
        }

        return await pipeline.RunAsync<Results<Ok<GradCamResponse>, FileContentHttpResult, ProblemHttpResult>>(
            context, chosen, withGradCam: true, target, dicom.Value!, render: (result, timings) =>
            {
                var cam = result.Prediction.GradCam!;
                int width = result.Size.Width, height = result.Size.Height;
                float[] map = GradCamRenderer.NormaliseAndUpsample(cam.Values, cam.Width, cam.Height, width, height, result.Region);
                if (mode == "json")
                {
                    using var mask = GradCamRenderer.Mask(map, width, height);
                    var matrix = Enumerable.Range(0, cam.Height).Select(row => cam.Values.AsSpan(row * cam.Width, cam.Width).ToArray()).ToArray();
                    var payload = new GradCamPayload(cam.Label, camMethod.Name(), cam.Width, cam.Height, matrix,
                        Convert.ToBase64String(ImageEncoder.Png(mask)));
                    return TypedResults.Ok(new GradCamResponse(result.Model.Name, result.Model.Manifest.Version, result.Prediction.Label,
                        result.Prediction.Confidence, ApiContracts.Probabilities(result), new ImageSize(width, height), payload, timings, result.Dicom,
                        result.Prediction.InDistribution));
                }
                context.Response.Headers["X-GradCam-Class"] = cam.Label;
                context.Response.Headers["X-GradCam-Method"] = camMethod.Name();
                context.Response.Headers["X-Predicted-Label"] = result.Prediction.Label;
                context.Response.Headers["X-Confidence"] = result.Prediction.Confidence.ToString("0.0000", CultureInfo.InvariantCulture);
                using var picture = mode switch
                {
                    "heatmap" => GradCamRenderer.Heatmap(map, width, height),
                    "mask" => GradCamRenderer.Mask(map, width, height),
                    _ => GradCamRenderer.Overlay(result.Image, map, blend),
                };
                // The mask is data for other programs, never annotated.
                using var annotated = annotate != false && mode != "mask" ? LegendFor(result, cam.Label, camMethod).DrawBelow(picture) : null;
                if (PredictionEndpoints.Accepts(context.Request, DicomImage.MediaType))
                {
                    return SecondaryCaptureOf(result, cam.Label, camMethod.DisplayName(), annotated ?? picture, mode, burnedIn: annotated is not null);
                }
                return TypedResults.File(ImageEncoder.Png(annotated ?? picture), "image/png");
            }, refuse: problem => problem, camMethod, drawsOnImage: mode == "overlay");
    }

    /// <summary>
    /// The picture as a DICOM Secondary Capture in a new series of the input's study, with the answer written in the image
    /// comments (and, when annotated, drawn in the legend below the picture); only for a DICOM input, whose study it joins.
    /// </summary>
    private static Results<Ok<GradCamResponse>, FileContentHttpResult, ProblemHttpResult> SecondaryCaptureOf(
        ClassifiedImage result, string explained, string method, SKBitmap picture, string mode, bool burnedIn)
    {
        if (result.Dicom is null)
        {
            return Problems.BadParameter("DICOM output needs a DICOM input",
                "Accept: application/dicom files the picture in the input's study, so the input must be a DICOM file; ask for image/png otherwise.");
        }
        return TypedResults.File(Capture(result, explained, method, picture, mode, burnedIn), DicomImage.MediaType);
    }

    /// <summary>
    /// The annotated overlay for the predicted class, as <c>/gradcam</c> with <c>Accept: application/dicom</c> and no other option
    /// makes it: what a DICOMweb result sends to the PACS beside the SR.
    /// </summary>
    public static byte[] OverlayCapture(ClassifiedImage result, CamMethod method)
    {
        var cam = result.Prediction.GradCam!;
        float[] map = GradCamRenderer.NormaliseAndUpsample(cam.Values, cam.Width, cam.Height, result.Image.Width, result.Image.Height, result.Region);
        using var picture = GradCamRenderer.Overlay(result.Image, map, GradCamRenderer.DefaultAlpha);
        using var annotated = LegendFor(result, cam.Label, method).DrawBelow(picture);
        return Capture(result, cam.Label, method.DisplayName(), annotated, "overlay", burnedIn: true);
    }

    private static byte[] Capture(ClassifiedImage result, string explained, string method, SKBitmap picture, string mode, bool burnedIn)
    {
        string comments = $"BrainTumor {result.Model.Name} {result.Model.Manifest.Version}: {result.Prediction.Label} " +
                          $"{result.Prediction.Confidence.ToString("0.000", CultureInfo.InvariantCulture)}; {method} {mode} for {explained}. " +
                          "Research software, not for diagnostic use.";
        string derivation = $"{method} {mode} of the source image for class {explained}, computed by model {result.Model.Name}";
        return SecondaryCapture.Create(result.Upload, picture, comments, derivation, burnedIn);
    }

    private static GradCamLegend LegendFor(ClassifiedImage result, string explained, CamMethod method) =>
        new(PredictionEndpoints.DisplayLabel(explained), PredictionEndpoints.DisplayLabel(result.Prediction.Label), result.Prediction.Confidence,
            result.Model.Name, result.Model.Manifest.Version, method.DisplayName());
}
