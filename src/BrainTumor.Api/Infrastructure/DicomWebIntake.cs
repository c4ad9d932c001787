using BrainTumor.Api.Endpoints;
using BrainTumor.Imaging;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Inference;
using BrainTumor.Models;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Serilog;

namespace BrainTumor.Api.Infrastructure;

/// <summary>The outcome of one instance of a STOW-RS request: accepted (no failure reason) or failed with a PS3.18 reason.</summary>
public sealed record StoredInstance(string? SopClassUid, string? SopInstanceUid, ushort? FailureReason);

/// <summary>The Failure Reason (0008,1197) values a STOW-RS answer uses (PS3.18 section 10.5.3, from PS3.4's status codes).</summary>
public static class FailureReasons
{
    /// <summary>0xA700 Refused: out of resources; here, too many results already wait to be sent to the PACS.</summary>
    public const ushort OutOfResources = 0xA700;

    /// <summary>0x0122 Referenced SOP Class not supported: not an image, or not MR.</summary>
    public const ushort SopClassNotSupported = 0x0122;

    /// <summary>0xC122 Referenced Transfer Syntax not supported.</summary>
    public const ushort TransferSyntaxNotSupported = 0xC122;

    /// <summary>0xC000 Error: cannot understand; not a DICOM Part 10 file, or one that cannot be read or decoded.</summary>
    public const ushort CannotUnderstand = 0xC000;

    /// <summary>0x0110 Processing failure: read, but refused before or by the model (not a slice, unlike the training images).</summary>
    public const ushort ProcessingFailure = 0x0110;
}

/// <summary>
/// The STOW-RS path, with the same limits as <c>/predict</c>: memory reserved before the body is read, one admission slot for the
/// whole request, and per instance the decoding, plausibility check, model and out-of-distribution policy of
/// <see cref="ClassificationPipeline"/>. An accepted MR instance gets an SR and (when the model has Grad-CAM) the annotated overlay as a
/// Secondary Capture, queued for <see cref="DicomWebResults"/> when a results URL is configured.
/// </summary>
public sealed class DicomWebIntake(
    RequestAdmission admission, ImageUploads uploads, ServerMetrics metrics, DicomWebResults results,
    IDiagnosticContext diagnostics, ILogger<DicomWebIntake> logger, IOptions<OutOfDistributionOptions> outOfDistribution)
{
    public async Task<Attempt<IReadOnlyList<StoredInstance>>> StoreAsync(HttpContext context, ClassifierModel model)
    {
        diagnostics.Set("Model", model.Name);
        var admitted = await admission.AdmitAsync(context, uploads.ReadInstancesAsync);
        if (admitted.Problem is ProblemHttpResult refused)
        {
            return refused;
        }
        using var parts = admitted.Value!;
        return new Attempt<IReadOnlyList<StoredInstance>>(parts.Body.Select(part => Store(model, part)).ToList(), null);
    }

    private StoredInstance Store(ClassifierModel model, DicomPart part)
    {
        DicomDataset dataset;
        try
        {
            dataset = DicomDataset.Parse(part.Bytes);
        }
        catch (ImageDecodeException ex)
        {
            return Failed(null, null, null,
                ex.Problem == ImageProblem.UnsupportedFormat ? FailureReasons.TransferSyntaxNotSupported : FailureReasons.CannotUnderstand,
                "unreadable");
        }
        string? sopClass = dataset.String(DicomWriter.SopClassUidTag), sopInstance = dataset.String(DicomWriter.SopInstanceUidTag);
        string? study = dataset.String(DicomWriter.StudyInstanceUidTag), modality = dataset.String(DicomWriter.ModalityTag);
        if (sopClass is null || sopInstance is null || study is null)
        {
            return Failed(sopClass, sopInstance, study, FailureReasons.CannotUnderstand,
                "no SOP Class, SOP Instance or Study Instance UID");
        }
        if (modality != "MR" || !dataset.Contains(DicomDataset.PixelDataTag))
        {
            return Failed(sopClass, sopInstance, study, FailureReasons.SopClassNotSupported,
                dataset.Contains(DicomDataset.PixelDataTag) ? $"modality {modality ?? "absent"}, not MR" : "not an image");
        }
        var decoded = uploads.Decode(part.Bytes, new DicomReadOptions());
        if (decoded.Problem is ProblemHttpResult undecodable)
        {
            return Failed(sopClass, sopInstance, study, FailureReasons.CannotUnderstand, undecodable.ProblemDetails.Title);
        }
        using var image = decoded.Value!.Bitmap;
        if (SlicePlausibility.Problem(image, modality) is { } implausible)
        {
            return Failed(sopClass, sopInstance, study, FailureReasons.ProcessingFailure, implausible.Title);
        }
        var input = model.Prepare(image);
        var method = model.DefaultCamMethod;
        bool explain = model.HasGradCam && model.CamMethodsAvailable.Contains(method);
        var prediction = model.Predict(input.Pixels, explain, targetClass: null, method);
        model.Recycle(input.Pixels);
        metrics.RecordInference(model.Name, prediction.InferenceMilliseconds);
        diagnostics.Set("Label", prediction.Label);
        if (prediction.InDistribution is { Ok: false } && outOfDistribution.Value.Policy == OutOfDistributionPolicy.Refuse)
        {
            return Failed(sopClass, sopInstance, study, FailureReasons.ProcessingFailure, "unlike the training images");
        }
        if (results.Enabled)
        {
            var result = new ClassifiedImage(model, new ImageSize(image.Width, image.Height), image, input.Region, prediction,
                decoded.Value.Dicom, part.Bytes);
            var findings = new ClassificationFindings(model.Name, model.Manifest.Version, prediction.Label,
                ClassProbabilities.ByLabel(model.Manifest.Labels, prediction.Probabilities).ToList(), prediction.InDistribution?.Ok);
            List<byte[]> instances = [StructuredReport.Create(part.Bytes, findings, DateTime.Now)];
            if (explain)
            {
                instances.Add(GradCamEndpoints.OverlayCapture(result, method));
            }
            if (!results.TryQueue(new PendingResult(study, instances)))
            {
                return Failed(sopClass, sopInstance, study, FailureReasons.OutOfResources, "too many results wait to be sent");
            }
        }
        logger.LogInformation("STOW-RS instance of study {StudyInstanceUid} classified {Label}", study, prediction.Label);
        return new StoredInstance(sopClass, sopInstance, null);
    }

    private StoredInstance Failed(string? sopClass, string? sopInstance, string? study, ushort reason, string? why)
    {
        logger.LogInformation("STOW-RS instance of study {StudyInstanceUid} failed with 0x{FailureReason:X4}: {Why}",
            study ?? "-", reason, why);
        return new StoredInstance(sopClass, sopInstance, reason);
    }
}
