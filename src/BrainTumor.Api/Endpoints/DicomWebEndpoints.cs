using System.Text.Json.Serialization;
using BrainTumor.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace BrainTumor.Api.Endpoints;

/// <summary>A DICOM JSON (PS3.18 F.2) UI attribute.</summary>
public sealed record DicomJsonUid([property: JsonPropertyName("Value")] IReadOnlyList<string> Value)
{
    [JsonPropertyName("vr")]
    public string Vr => "UI";
}

/// <summary>A DICOM JSON US attribute.</summary>
public sealed record DicomJsonUShort([property: JsonPropertyName("Value")] IReadOnlyList<int> Value)
{
    [JsonPropertyName("vr")]
    public string Vr => "US";
}

/// <summary>One item of the Referenced SOP Sequence (accepted) or Failed SOP Sequence (failed, with its Failure Reason).</summary>
/// <param name="ReferencedSopClassUid">Referenced SOP Class UID (0008,1150), when the part could be read.</param>
/// <param name="ReferencedSopInstanceUid">Referenced SOP Instance UID (0008,1155), when the part could be read.</param>
/// <param name="FailureReason">Failure Reason (0008,1197): 0xA700 (42752) out of resources, 0x0122 (290) not an MR image,
/// 0xC122 (49442) transfer syntax not supported, 0xC000 (49152) cannot understand, 0x0110 (272) refused before or by the model.</param>
public sealed record StowInstance(
    [property: JsonPropertyName("00081150"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    DicomJsonUid? ReferencedSopClassUid,
    [property: JsonPropertyName("00081155"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    DicomJsonUid? ReferencedSopInstanceUid,
    [property: JsonPropertyName("00081197"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DicomJsonUShort? FailureReason);

/// <summary>A DICOM JSON SQ attribute; without <c>Value</c> when empty.</summary>
public sealed record DicomJsonSequence(
    [property: JsonPropertyName("Value"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<StowInstance>? Value)
{
    [JsonPropertyName("vr")]
    public string Vr => "SQ";
}

/// <summary>The STOW-RS answer (PS3.18 10.5.3), <c>application/dicom+json</c>.</summary>
/// <param name="ReferencedSopSequence">Referenced SOP Sequence (0008,1199): the instances classified; always present.</param>
/// <param name="FailedSopSequence">Failed SOP Sequence (0008,1198): the instances refused, each with its reason; absent when none
/// was.</param>
public sealed record StowResponse(
    [property: JsonPropertyName("00081199")] DicomJsonSequence ReferencedSopSequence,
    [property: JsonPropertyName("00081198"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    DicomJsonSequence? FailedSopSequence);

public static class DicomWebEndpoints
{
    public const string DicomJsonMediaType = "application/dicom+json";

    public static IEndpointRouteBuilder MapDicomWebEndpoints(this IEndpointRouteBuilder app)
    {
        // As for /predict: the route on the endpoint keeps the metrics' http.route free of a trailing slash.
        app.MapGroup("")
            .WithTags("Prediction")
            .MapPost("/dicomweb/studies", StoreInstances)
            .WithName("StoreInstances")
            .WithSummary("STOW-RS: classify DICOM MR instances sent by a PACS, and file the results in their studies")
            .WithDescription("A standard STOW-RS request (multipart/related; type=\"application/dicom\", one Part 10 instance per part). " +
                             "Each MR image is classified before the answer, which lists it in the Referenced SOP Sequence; " +
                             "anything else is in the Failed SOP Sequence with its reason, and the request still succeeds " +
                             "(200 when nothing failed, 202 otherwise). With DicomWeb:ResultsUrl set, an SR and the Grad-CAM " +
                             "Secondary Capture of each classified instance are then stored in its study by STOW-RS, " +
                             "in the background, with retries (docs/pacs.md).")
            .Accepts<byte[]>("multipart/related")
            .Produces<StowResponse>(StatusCodes.Status200OK, DicomJsonMediaType)
            .Produces<StowResponse>(StatusCodes.Status202Accepted, DicomJsonMediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status408RequestTimeout)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    /// <param name="context">The request; the instances are read from its body.</param>
    /// <param name="intake">The STOW-RS path.</param>
    /// <param name="catalog">The loaded models.</param>
    /// <param name="model">Model to use (see GET /models); the default model when absent.</param>
    public static async Task<Results<JsonHttpResult<StowResponse>, ProblemHttpResult>> StoreInstances(
        HttpContext context, DicomWebIntake intake, BrainTumor.Inference.ModelCatalog catalog, [FromQuery] string? model)
    {
        if (catalog.Find(model) is not { } chosen)
        {
            return Problems.UnknownModel(model, catalog.All.Select(m => m.Name));
        }
        var stored = await intake.StoreAsync(context, chosen);
        if (stored.Problem is ProblemHttpResult problem)
        {
            return problem;
        }
        var accepted = stored.Value!.Where(i => i.FailureReason is null).Select(Item).ToList();
        var failed = stored.Value!.Where(i => i.FailureReason is not null).Select(Item).ToList();
        var response = new StowResponse(new DicomJsonSequence(accepted.Count > 0 ? accepted : null),
            failed.Count > 0 ? new DicomJsonSequence(failed) : null);
        return TypedResults.Json(response, contentType: DicomJsonMediaType,
            statusCode: failed.Count > 0 ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
    }

    private static StowInstance Item(StoredInstance instance) => new(
        instance.SopClassUid is { } sopClass ? new DicomJsonUid([sopClass]) : null,
        instance.SopInstanceUid is { } sopInstance ? new DicomJsonUid([sopInstance]) : null,
        instance.FailureReason is { } reason ? new DicomJsonUShort([reason]) : null);
}
