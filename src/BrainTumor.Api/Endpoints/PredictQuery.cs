using BrainTumor.Api.Infrastructure;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Inference;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace BrainTumor.Api.Endpoints;

/// <summary>What <c>POST /predict</c> answers with.</summary>
public enum PredictFormat
{
    /// <summary>A <see cref="PredictionResponse"/>.</summary>
    Json,

    /// <summary>The image with the label and confidence drawn on it.</summary>
    Png,
}

public static class PredictFormats
{
    /// <summary>The names <c>format</c> takes, in <see cref="PredictFormat"/> order.</summary>
    public static readonly string[] Names = ["json", "png"];

    public static PredictFormat? Parse(string name) => NamedChoices.Parse<PredictFormat>(Names, name);
}

/// <summary>The query of <c>POST /predict</c> as sent: strings, so that a bad value gets this API's problem, not the framework's.</summary>
/// <param name="Model">Model to use (see GET /models); the default model when absent.</param>
/// <param name="Format"><c>json</c> (default) or <c>png</c> (the image with the answer drawn on it).</param>
/// <param name="Window">DICOM only: <c>center,width</c> to use instead of the file's window.</param>
/// <param name="Frame">DICOM only: the frame of a multi-frame image, from 1 (default: the middle one).</param>
/// <param name="OperatingPoint"><c>argmax</c> (default): the most probable class; <c>sensitive</c>: a tumour class unless
/// <c>no_tumor</c> is at least as likely as the model's fitted minimum (its manifest's <c>sensitiveOperatingPoint</c>).</param>
public sealed record PredictQuery(
    [FromQuery(Name = "model")] string? Model,
    [FromQuery(Name = "format")] string? Format,
    [FromQuery(Name = "window")] string? Window,
    [FromQuery(Name = "frame")] string? Frame,
    [FromQuery(Name = "operatingPoint")] string? OperatingPoint)
{
    /// <summary>The request in typed values, or the problem with the first parameter that is wrong, checked in the order the API always
    /// has.</summary>
    /// <param name="request">Its Accept header chooses the format when <c>format</c> is absent.</param>
    /// <param name="pipeline">Resolves the model.</param>
    public Attempt<PredictRequest> Parse(HttpRequest request, ClassificationPipeline pipeline)
    {
        if (OperatingPoints.Parse(OperatingPoint) is not { } point)
        {
            return Problems.NotOneOf("operatingPoint", OperatingPoints.Names, OperatingPoint);
        }
        var dicom = ImageUploads.DicomOptions(Window, Frame);
        if (dicom.Problem is ProblemHttpResult badDicomOption)
        {
            return badDicomOption;
        }
        PredictFormat? format = Format is null
            ? PredictionEndpoints.Accepts(request, "image/png") && !PredictionEndpoints.Accepts(request, "application/json")
                ? PredictFormat.Png
                : PredictFormat.Json
            : PredictFormats.Parse(Format);
        if (format is null)
        {
            return Problems.NotOneOf("format", PredictFormats.Names, Format);
        }
        var model = pipeline.ResolveModel(Model);
        if (model.Problem is ProblemHttpResult unknown)
        {
            return unknown;
        }
        if (OperatingPoints.Unavailable(model.Value!.Manifest, point) is string unavailable)
        {
            return Problems.BadParameter("No sensitive operating point", unavailable);
        }
        return new PredictRequest(model.Value, format.Value, dicom.Value!, point);
    }
}

/// <summary>
/// A checked <see cref="PredictQuery"/>. The pipeline decides the label at <c>Point</c> once, and both the answer and the request log take
/// that label.
/// </summary>
public sealed record PredictRequest(ClassifierModel Model, PredictFormat Format, DicomReadOptions Dicom, OperatingPoint Point);
