using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using BrainTumor.Inference;

namespace BrainTumor.Api.Infrastructure;

/// <summary>Request counts, latency histograms, queue state and inference time, in Prometheus text format.</summary>
public sealed class ServerMetrics(AdmissionQueue admission, UploadBudget uploads)
{
    private static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly ConcurrentDictionary<(string Endpoint, int Status), long> requests = new();
    private readonly ConcurrentDictionary<string, Histogram> latency = new();
    private readonly ConcurrentDictionary<string, Histogram> inference = new();

    public void RecordRequest(string endpoint, int status, double seconds)
    {
        requests.AddOrUpdate((endpoint, status), 1, (_, count) => count + 1);
        latency.GetOrAdd(endpoint, _ => new Histogram()).Observe(seconds);
    }

    public void RecordInference(string model, double milliseconds) =>
        inference.GetOrAdd(model, _ => new Histogram()).Observe(milliseconds / 1000);


    public string Render()
    {
        var text = new StringBuilder();
        text.AppendLine("# HELP braintumor_requests_total HTTP requests by endpoint and status.");
        text.AppendLine("# TYPE braintumor_requests_total counter");
        foreach (var ((endpoint, status), count) in requests.OrderBy(r => r.Key.Endpoint).ThenBy(r => r.Key.Status))
        {
            text.AppendLine(Invariant($"braintumor_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {count}"));
        }
        text.AppendLine("# HELP braintumor_request_duration_seconds Request latency by endpoint.");
        text.AppendLine("# TYPE braintumor_request_duration_seconds histogram");
        foreach (var (endpoint, histogram) in latency.OrderBy(l => l.Key))
        {
            histogram.Render(text, "braintumor_request_duration_seconds", $"endpoint=\"{endpoint}\"");
        }
        text.AppendLine("# HELP braintumor_inference_duration_seconds ONNX Runtime time per request, by model.");
        text.AppendLine("# TYPE braintumor_inference_duration_seconds histogram");
        foreach (var (model, histogram) in inference.OrderBy(i => i.Key))
        {
            histogram.Render(text, "braintumor_inference_duration_seconds", $"model=\"{model}\"");
        }
        Single(text, "braintumor_queue_length", "gauge", "Requests waiting for a slot.", admission.Waiting);
        Single(text, "braintumor_requests_in_progress", "gauge", "Requests holding a slot.", admission.Running);
        Single(text, "braintumor_rejections_total", "counter", "Requests refused with 503 because the queue was full.", admission.Rejected);
        Single(text, "braintumor_upload_bytes_reserved", "gauge", "Memory reserved by request bodies being read or held until answered.",
            uploads.ReservedBytes);
        RenderProcess(text);
        return text.ToString();
    }

    /// <summary>The process's CPU time, memory and garbage collections, named as Prometheus' client libraries name them.</summary>
    private static void RenderProcess(StringBuilder text)
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        Single(text, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", process.TotalProcessorTime.TotalSeconds);
        Single(text, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", process.WorkingSet64);
        Single(text, "dotnet_gc_heap_size_bytes", "gauge", "Bytes on the managed heap after the last collection.", GC.GetGCMemoryInfo().HeapSizeBytes);
        text.AppendLine("# HELP dotnet_gc_collections_total Garbage collections by generation.");
        text.AppendLine("# TYPE dotnet_gc_collections_total counter");
        for (int generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            text.AppendLine(Invariant($"dotnet_gc_collections_total{{generation=\"{generation}\"}} {GC.CollectionCount(generation)}"));
        }
    }

    /// <summary>A series with one value and no labels, with its HELP and TYPE lines.</summary>
    private static void Single(StringBuilder text, string name, string type, string help, double value)
    {
        text.AppendLine($"# HELP {name} {help}");
        text.AppendLine($"# TYPE {name} {type}");
        text.AppendLine(Invariant($"{name} {value}"));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed class Histogram
    {
        private readonly long[] counts = new long[Buckets.Length + 1];
        private long total;
        private double sum;
        private readonly object gate = new();

        public void Observe(double value)
        {
            int bucket = Array.FindIndex(Buckets, bound => value <= bound);
            lock (gate)
            {
                counts[bucket < 0 ? Buckets.Length : bucket]++;
                total++;
                sum += value;
            }
        }

        public void Render(StringBuilder text, string name, string? labels)
        {
            string prefix = labels is null ? "" : labels + ",";
            lock (gate)
            {
                long cumulative = 0;
                for (int i = 0; i < Buckets.Length; i++)
                {
                    cumulative += counts[i];
                    text.AppendLine(Invariant($"{name}_bucket{{{prefix}le=\"{Buckets[i]}\"}} {cumulative}"));
                }
                text.AppendLine(Invariant($"{name}_bucket{{{prefix}le=\"+Inf\"}} {total}"));
                string suffix = labels is null ? "" : $"{{{labels}}}";
                text.AppendLine(Invariant($"{name}_sum{suffix} {sum}"));
                text.AppendLine(Invariant($"{name}_count{suffix} {total}"));
            }
        }
    }
}
