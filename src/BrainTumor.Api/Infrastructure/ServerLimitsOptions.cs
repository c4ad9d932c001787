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
    public int MaxImageSide { get; set; } = ImageLoader.DefaultMaxSide;

    /// <summary>Seconds a refused (503) caller is asked to wait before retrying.</summary>
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

    /// <summary>When set, every call except health and Swagger must send it in <c>X-API-Key</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Routes that never ask for the key: probes, scrapers and the API's own documentation.</summary>
    public static bool IsOpen(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/swagger") || path.StartsWithSegments("/metrics");

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
