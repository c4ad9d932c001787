using System.ComponentModel.DataAnnotations;

namespace BrainTumor.Inference;

/// <summary>Where the models are and how they run. Bound from the <c>Inference</c> configuration section.</summary>
public sealed class InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>Folder whose sub-folders each hold a model package (<c>model.onnx</c> + <c>model.json</c>).</summary>
    [Required]
    public string ModelsDirectory { get; set; } = "models";

    /// <summary>
    /// The package folders under <see cref="ModelsDirectory"/> to load, by name; empty loads every package. Each loaded package
    /// holds its ONNX Runtime session in memory, so a server that needs a few of them loads only those.
    /// </summary>
    public string[] Models { get; set; } = [];

    /// <summary>
    /// Model used when a request names none; when unset, the first loaded model by name. The shipped
    /// <c>appsettings.json</c> names <c>lite-cnn</c>, the most accurate and the fastest of the shipped models.
    /// </summary>
    public string? DefaultModel { get; set; }

    /// <summary>
    /// ONNX Runtime threads per run. One thread per run with one run per core gave the best throughput
    /// here (two 1-thread runs: ~70 images/s; one 2-thread run: ~74 images/s but nothing left for
    /// decoding and encoding, which are single-threaded).
    /// </summary>
    [Range(1, 64)]
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>Requests processed at once (decode, inference, encode); 0 means one per CPU core.</summary>
    [Range(0, 256)]
    public int MaxConcurrentRequests { get; set; }

    /// <summary>Requests allowed to wait, in arrival order, for a free slot; beyond that the answer is 503.</summary>
    [Range(0, 100_000)]
    public int MaxQueueLength { get; set; } = 512;

    /// <summary>Runs of each model at start-up before the server reports ready.</summary>
    [Range(1, 100)]
    public int WarmupRuns { get; set; } = 3;

    public int EffectiveConcurrency => MaxConcurrentRequests > 0 ? MaxConcurrentRequests : Environment.ProcessorCount;
}
