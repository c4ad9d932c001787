using System.Diagnostics.Metrics;
using BrainTumor.Inference;

namespace BrainTumor.Api.Infrastructure;

/// <summary>
/// The service's own instruments, beside the platform's (ASP.NET Core's <c>http.server.request.duration</c>, Kestrel's
/// connections, the runtime's CPU, memory and GC): inference time by model, the admission queue, the upload budget and the
/// DICOMweb results on their way to the PACS.
/// </summary>
public sealed class ServerMetrics
{
    public const string MeterName = "BrainTumor.Api";

    /// <summary>The meters /metrics exports: ours and the platform's.</summary>
    public static readonly string[] ExportedMeters =
    [
        MeterName,
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Diagnostics",
        "System.Runtime",
    ];

    // One image takes 3-30 ms on lite-cnn and up to seconds for a large Grad-CAM on resnet50 (measured here).
    private static readonly double[] InferenceBuckets = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Histogram<double> inference;
    private readonly Counter<long> resultsStored, storeFailures, resultsAbandoned;
    private readonly UpDownCounter<long> resultsPending;

    public ServerMetrics(IMeterFactory meters, AdmissionQueue admission, UploadBudget uploads)
    {
        var meter = meters.Create(MeterName);
        inference = meter.CreateHistogram("braintumor.inference.duration", "s", "ONNX Runtime time per request, by model.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = InferenceBuckets });
        meter.CreateObservableUpDownCounter("braintumor.queue.length", () => admission.Waiting, "{request}",
            "Requests waiting for a slot.");
        meter.CreateObservableUpDownCounter("braintumor.requests.in_progress", () => admission.Running, "{request}",
            "Requests holding a slot.");
        meter.CreateObservableCounter("braintumor.rejections", () => admission.Rejected, "{request}",
            "Requests refused with 503 because the queue was full.");
        meter.CreateObservableUpDownCounter("braintumor.upload.reserved", () => uploads.ReservedBytes, "By",
            "Memory reserved by request bodies being read or held until answered.");
        resultsStored = meter.CreateCounter<long>("braintumor.results.stored", "{result}",
            "DICOMweb results (SR and Secondary Capture) stored in the PACS.");
        storeFailures = meter.CreateCounter<long>("braintumor.results.store_failures", "{attempt}",
            "Attempts to store a result in the PACS that failed (each is retried, or the result abandoned and logged).");
        resultsAbandoned = meter.CreateCounter<long>("braintumor.results.abandoned", "{result}",
            "Results never stored: refused by the PACS, or still waiting when the server stopped (each logged with its study's UID).");
        resultsPending = meter.CreateUpDownCounter<long>("braintumor.results.pending", "{result}",
            "Results waiting to be stored in the PACS.");
    }

    public void RecordResultQueued() => resultsPending.Add(1);

    public void RecordResultStored()
    {
        resultsPending.Add(-1);
        resultsStored.Add(1);
    }

    public void RecordStoreFailure() => storeFailures.Add(1);

    public void RecordResultAbandoned()
    {
        resultsPending.Add(-1);
        resultsAbandoned.Add(1);
    }

    public void RecordInference(string model, double milliseconds) =>
        inference.Record(milliseconds / 1000, new KeyValuePair<string, object?>("model", model));
}
