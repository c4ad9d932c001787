using System.Diagnostics;
using System.Net;
using HdrHistogram;

namespace BrainTumor.LoadTests;

/// <summary>What one concurrency level measured. Latencies are of successful (200) requests.</summary>
public sealed record LevelResult(
    int Pass, int Users, int Requests, double Seconds, double Throughput,
    double MeanMs, double P50Ms, double P95Ms, double P99Ms, double MaxMs,
    int Succeeded, int Rejected, IReadOnlyDictionary<string, int> Errors, double FailurePercent,
    double? ServerPeakRssMb, double? ServerRssAfterMb)
{
    public int Failed => Rejected + Errors.Values.Sum();
}

/// <summary>
/// Closed-loop virtual users: each sends its next request as soon as the previous one is answered, until
/// the level's request count is used up.
/// </summary>
public sealed class LoadRunner(HttpClient client, RequestImages images, Scenario scenario, string? model)
{
    /// <summary>
    /// Requests sent by <paramref name="users"/> concurrent users and not counted, so the server is warm under concurrency too.
    /// </summary>
    public async Task WarmUpAsync(int requests, int users)
    {
        long issued = -1;
        async Task User()
        {
            long index;
            while ((index = Interlocked.Increment(ref issued)) < requests)
            {
                using var response = await client.PostAsync(Path(index), images.Upload(index));
                await response.Content.ReadAsByteArrayAsync();
            }
        }
        await Task.WhenAll(Enumerable.Range(0, Math.Max(1, users)).Select(_ => Task.Run(User)));
    }

    public async Task<LevelResult> RunLevelAsync(int pass, int users, int requests, ServerProcess? server)
    {
        var histogram = new LongConcurrentHistogram(1, TimeSpan.FromMinutes(10).Ticks / 10, 3);
        var errors = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        int succeeded = 0, rejected = 0;
        long issued = -1;
        server?.ResetPeak();
        var clock = Stopwatch.StartNew();

        async Task User()
        {
            long index;
            while ((index = Interlocked.Increment(ref issued)) < requests)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await client.PostAsync(Path(index), images.Upload(index));
                    await response.Content.ReadAsByteArrayAsync();
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        histogram.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds));
                        Interlocked.Increment(ref succeeded);
                    }
                    else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        Interlocked.Increment(ref rejected);
                    }
                    else
                    {
                        errors.AddOrUpdate($"HTTP {(int)response.StatusCode}", 1, (_, n) => n + 1);
                    }
                }
                catch (TaskCanceledException)
                {
                    errors.AddOrUpdate("timeout", 1, (_, n) => n + 1);
                }
                catch (HttpRequestException)
                {
                    errors.AddOrUpdate("connection error", 1, (_, n) => n + 1);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, users).Select(_ => Task.Run(User)));
        double seconds = clock.Elapsed.TotalSeconds;
        bool any = succeeded > 0;
        double Ms(double microseconds) => Math.Round(microseconds / 1000, 2);
        int failed = rejected + errors.Values.Sum();
        return new LevelResult(pass, users, requests, Math.Round(seconds, 2), Math.Round(succeeded / seconds, 2),
            any ? Ms(histogram.GetMean()) : 0, any ? Ms(histogram.GetValueAtPercentile(50)) : 0,
            any ? Ms(histogram.GetValueAtPercentile(95)) : 0, any ? Ms(histogram.GetValueAtPercentile(99)) : 0,
            any ? Ms(histogram.GetMaxValue()) : 0,
            succeeded, rejected, new SortedDictionary<string, int>(errors), Math.Round(100.0 * failed / requests, 2),
            server is null ? null : Math.Round(server.PeakRssBytes / 1048576.0, 1),
            server is null ? null : Math.Round(server.CurrentRssBytes / 1048576.0, 1));
    }

    private string Path(long index)
    {
        string endpoint = scenario switch
        {
            Scenario.Predict => "/predict",
            Scenario.GradCam => "/gradcam",
            _ => index % 2 == 0 ? "/predict" : "/gradcam",
        };
        return model is null ? endpoint : $"{endpoint}?model={Uri.EscapeDataString(model)}";
    }
}
