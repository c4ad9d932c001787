using System.ComponentModel.DataAnnotations;
using BrainTumor.Imaging;

namespace BrainTumor.Api.Infrastructure;

/// <summary>What the server accepts from a caller. Bound from the <c>ServerLimits</c> section.</summary>
public sealed class ServerLimitsOptions
{
    public const string Section = "ServerLimits";

    /// <summary>Largest upload in bytes (default 20 MB); larger bodies get 413.</summary>
    [Range(1024, 1L << 31)]
    public long MaxUploadBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>Largest declared width or height; checked from the header before decoding (decompression bombs).</summary>
    [Range(16, 65_536)]
    public int MaxImageSide { get; set; } = ImageLimits.Classification.MaxSide;

    /// <summary>Largest declared width x height; times the processing slots it bounds the memory of decoded pixels.</summary>
    [Range(1024, 1L << 32)]
    public long MaxImagePixels { get; set; } = ImageLimits.Classification.MaxPixels;

    /// <summary>Smallest width or height (see <see cref="ImageLimits.Classification"/> for why 64).</summary>
    [Range(1, 4096)]
    public int MinImageSide { get; set; } = ImageLimits.Classification.MinSide;

    /// <summary>
    /// Decode a JPEG at least twice the model's input on each side at 1/2, 1/4 or 1/8 scale, the smallest that still covers the
    /// input (a 512x512 slice for a 224x224 model at 256x256); false decodes every upload at full size. The answers barely move
    /// and decoding costs a fraction (docs/operations.md#decoding-at-the-needed-size).
    /// </summary>
    public bool ScaledJpegDecoding { get; set; } = true;

    /// <summary>The decoder's limits as configured.</summary>
    public ImageLimits ImageLimits =>
        ImageLimits.Classification with { MaxSide = MaxImageSide, MaxPixels = MaxImagePixels, MinSide = MinImageSide };

    /// <summary>
    /// Memory that request bodies may hold at once, reserved before a body is read (twice its declared length, as a
    /// form is buffered and then copied out; the largest allowed size when no length is declared). Beyond it the
    /// answer is 503. The default keeps 300 concurrent 18 MB uploads under 2 GB of resident memory on the 2-core,
    /// 24 GB machine here, together with the decoded pixels of the two requests in progress.
    /// </summary>
    [Range(1L << 20, 1L << 36)]
    public long MaxBufferedUploadBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Fewest seconds a refused (503) caller is asked to wait; more when the queue is deeper.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Room for a multipart form's boundaries and part headers around an image of the largest size.</summary>
    public const long FormOverheadBytes = 64 * 1024;

    /// <summary>Largest request body: the largest upload plus <see cref="FormOverheadBytes"/>.</summary>
    public long MaxRequestBytes => MaxUploadBytes + FormOverheadBytes;

    /// <summary>The upload limit as a person reads it, e.g. "20 MB".</summary>
    public string MaxUploadText => $"{MaxUploadBytes / (1024 * 1024.0):0.#} MB";
}

/// <summary>Optional shared-secret access. Bound from the <c>Security</c> section.</summary>
public sealed class SecurityOptions
{
    public const string Section = "Security";
    public const string ApiKeyHeader = "X-API-Key";

    /// <summary>
    /// When set, every call except health, metrics and Swagger must send it in <c>X-API-Key</c>. Give it as the
    /// environment variable <c>Security__ApiKey</c> or through <see cref="ApiKeyFile"/>, not on the command line,
    /// where any local user can read it in <c>/proc/PID/cmdline</c>.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>A file holding the API key (a mounted secret), read once at start when <see cref="ApiKey"/> is not set.</summary>
    public string? ApiKeyFile { get; set; }

    /// <summary>Routes that never ask for the key: probes, scrapers and the API's own documentation.</summary>
    public static bool IsOpen(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/swagger")
        || path.StartsWithSegments(Endpoints.HealthEndpoints.MetricsPath);

    /// <summary>Origins allowed by CORS; none (the default) means no cross-origin access.</summary>
    public string[] CorsOrigins { get; set; } = [];
}

/// <summary>Bound from the <c>ServerLogging</c> section.</summary>
public sealed class ServerLoggingOptions
{
    public const string Section = "ServerLogging";

    /// <summary><c>text</c> (default) or <c>json</c> (compact JSON, one event per line).</summary>
    [RegularExpression("^(text|json)$")]
    public string Format { get; set; } = "text";
}
