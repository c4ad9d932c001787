using System.ComponentModel.DataAnnotations;

namespace BrainTumor.Api.Infrastructure;

/// <summary>Where and how the results of <c>POST /dicomweb/studies</c> go back to the PACS. Bound from the <c>DicomWeb</c>
/// section.</summary>
public sealed class DicomWebOptions
{
    public const string Section = "DicomWeb";

    /// <summary>
    /// Base URL of the DICOMweb server that receives the SR and the Secondary Capture by STOW-RS (for Orthanc,
    /// <c>http://host:8042/dicom-web</c>); when absent, instances are classified and answered but nothing is sent back.
    /// </summary>
    public string? ResultsUrl { get; set; }

    /// <summary>Retries of one store after its first attempt, with exponential backoff and jitter from
    /// <see cref="FirstRetryDelaySeconds"/>.</summary>
    [Range(0, 100)]
    public int MaxRetryAttempts { get; set; } = 6;

    /// <summary>The first retry's delay; each next one doubles, up to a minute.</summary>
    [Range(0.01, 60)]
    public double FirstRetryDelaySeconds { get; set; } = 1;

    /// <summary>Wait before a result whose retries all failed is tried again (it is kept, and retried until stored or the server
    /// stops).</summary>
    [Range(0.01, 3600)]
    public double RetryRoundDelaySeconds { get; set; } = 30;

    /// <summary>Time allowed for one store attempt.</summary>
    [Range(1, 600)]
    public double AttemptTimeoutSeconds { get; set; } = 30;

    /// <summary>Results held for sending at once; an instance arriving when this many wait fails with 0xA700 (out of resources).</summary>
    [Range(1, 100_000)]
    public int MaxPendingResults { get; set; } = 256;

    public Uri? ResultsUri => string.IsNullOrEmpty(ResultsUrl) ? null : new Uri(ResultsUrl.TrimEnd('/') + "/");

    public static bool IsValidUrl(string? url) =>
        string.IsNullOrEmpty(url) || Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
}
