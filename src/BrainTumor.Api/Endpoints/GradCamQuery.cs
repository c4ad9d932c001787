using System.Globalization;
using BrainTumor.Api.Infrastructure;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Imaging.Rendering;
using BrainTumor.Inference;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace BrainTumor.Api.Endpoints;

/// <summary>What <c>POST /gradcam</c> answers with.</summary>
public enum GradCamOutput
{
    /// <summary>The heatmap blended over the image.</summary>
    Overlay,

    /// <summary>The heatmap alone.</summary>
    Heatmap,

    /// <summary>The 8-bit map, data for other programs.</summary>
    Mask,

    /// <summary>A <see cref="GradCamResponse"/>.</summary>
    Json,
}

public static class GradCamOutputs
{
    /// <summary>The names <c>output</c> takes, in <see cref="GradCamOutput"/> order.</summary>
    public static readonly string[] Names = ["overlay", "heatmap", "mask", "json"];

    public static GradCamOutput? Parse(string name) => NamedChoices.Parse<GradCamOutput>(Names, name);

    public static string Name(this GradCamOutput output) => Names[(int)output];
}

/// <summary>The query of <c>POST /gradcam</c> as sent: strings, so that a bad value gets this API's problem, not the framework's.</summary>
/// <param name="Model">Model to use (see GET /models); the default model when absent.</param>
/// <param name="Class">Label of the class to explain (see the model's labels); the predicted class when absent.</param>
/// <param name="Output"><c>overlay</c> (default), <c>heatmap</c>, <c>mask</c> or <c>json</c>.</param>
/// <param name="Alpha">Weight of the heatmap in the overlay, from 0 to 1 (default 0.4).</param>
/// <param name="Window">DICOM only: <c>center,width</c> to use instead of the file's window.</param>
/// <param name="Frame">DICOM only: the frame of a multi-frame image, from 1 (default: the middle one).</param>
/// <param name="Method"><c>gradcam</c>, <c>hirescam</c> (element-wise gradient x activation) or <c>gradcampp</c> (Grad-CAM++), all from
/// the same ONNX Runtime run; by default the model's <c>defaultCamMethod</c> (GET /models), the one that failed fewest of its sanity
/// checks.</param>
/// <param name="Annotate">Overlay, heatmap and DICOM output: <c>true</c> (default) adds a panel below the picture with the colour
/// scale, the explained class, the answer and its confidence, the model and a research-use line; <c>false</c> gives the picture
/// alone, at the image's size, for viewers that draw their own.</param>
public sealed record GradCamQuery(
    [FromQuery(Name = "model")] string? Model,
    [FromQuery(Name = "class")] string? Class,
    [FromQuery(Name = "output")] string? Output,
    [FromQuery(Name = "alpha")] string? Alpha,
    [FromQuery(Name = "window")] string? Window,
    [FromQuery(Name = "frame")] string? Frame,
    [FromQuery(Name = "method")] string? Method,
    [FromQuery(Name = "annotate")] bool? Annotate)
{
    /// <summary>The request in typed values, or the problem with the first parameter that is wrong, checked in the order the API always
    /// has.</summary>
    /// <param name="pipeline">Resolves the model, whose graph and labels the method and class are checked against.</param>
    public Attempt<GradCamRequest> Parse(ClassificationPipeline pipeline)
    {
        CamMethod? asked = Method is null ? null : CamMethods.Parse(Method);
        if (Method is not null && asked is null)
        {
            return Problems.NotOneOf("method", CamMethods.Names, Method);
        }
        var dicom = ImageUploads.DicomOptions(Window, Frame);
        if (dicom.Problem is ProblemHttpResult badDicomOption)
        {
            return badDicomOption;
        }
        if ((Output is null ? GradCamOutput.Overlay : GradCamOutputs.Parse(Output)) is not { } output)
        {
            return Problems.NotOneOf("output", GradCamOutputs.Names, Output);
        }
        float alpha = GradCamRenderer.DefaultAlpha;
        if (Alpha is not null
            && (!float.TryParse(Alpha, NumberStyles.Float, CultureInfo.InvariantCulture, out alpha) || !(alpha >= 0 && alpha <= 1)))
        {
            return Problems.BadParameter("Invalid alpha", $"alpha must be a number from 0 to 1, not '{Alpha}'.");
        }
        var resolved = pipeline.ResolveModel(Model);
        if (resolved.Problem is ProblemHttpResult unknown)
        {
            return unknown;
        }
        var model = resolved.Value!;
        if (!model.HasGradCam)
        {
            return Problems.BadParameter("No Grad-CAM", $"Model '{model.Name}' was exported without a Grad-CAM graph.");
        }
        var method = asked ?? model.DefaultCamMethod;
        if (!model.CamMethodsAvailable.Contains(method))
        {
            return Problems.BadParameter("Method not available",
                $"Model '{model.Name}' does not output the gradient and activation {method.Name()} needs; 'braintumor upgrade' adds them.");
        }
        int? target = null;
        if (Class is not null)
        {
            int index = model.Manifest.Labels.ToList().IndexOf(Class);
            if (index < 0)
            {
                return Problems.BadParameter("Unknown class",
                    $"Model '{model.Name}' has no class '{Class}'; its classes are {string.Join(", ", model.Manifest.Labels)}.");
            }
            target = index;
        }
        // The mask is data for other programs, never annotated.
        return new GradCamRequest(model, target, output, alpha, Annotate != false && output != GradCamOutput.Mask, dicom.Value!, method);
    }
}

/// <summary>A checked <see cref="GradCamQuery"/>: <c>TargetClass</c> is the index of the class to explain, null for the predicted
/// class.</summary>
public sealed record GradCamRequest(
    ClassifierModel Model, int? TargetClass, GradCamOutput Output, float Alpha, bool Annotate, DicomReadOptions Dicom, CamMethod Method);
