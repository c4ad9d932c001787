using System.Diagnostics;
using System.Globalization;
using System.Text;
using BrainTumor.Imaging;
using BrainTumor.Inference;

namespace BrainTumor.LoadTests;

/// <summary>One model's rates, images per second with one run per core, as the server runs them.</summary>
public sealed record CeilingRow(
    string Model, double RunPredict, double RunGradCam, double Decode, double Ceiling, double ServerPredict, double ServerGradCam,
    double? ServerPeakRssMb, double ServerCpuMsPerPredict, double ClientCpuMsPerPredict, int Workers)
{
    public double ShareOfCeiling => ServerPredict / Ceiling;

    /// <summary>
    /// The ceiling's CPU per image over the server's CPU per <c>/predict</c>: the share that does not count the load generator, which
    /// shares the cores.
    /// </summary>
    public double CpuShareOfCeiling => Workers * 1000 / Ceiling / ServerCpuMsPerPredict;

    /// <summary>
    /// The most of the ceiling a server that added nothing could reach while the load generator, using its measured CPU per request,
    /// shares the cores with it.
    /// </summary>
    public double ReachableShare => Workers * 1000 / Ceiling / (Workers * 1000 / Ceiling + ClientCpuMsPerPredict);
}

public sealed record CeilingReport(DateTimeOffset StartedAt, string Machine, IReadOnlyList<string> Flags, int Workers,
    double SecondsPerRate, int Images, int ServerRequests, IReadOnlyList<CeilingRow> Rows)
{
    public string Markdown()
    {
        var text = new StringBuilder();
        text.AppendLine($"# Ceiling report, {StartedAt:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine();
        text.AppendLine($"{Machine}; CPU flags: {string.Join(", ", Flags)}. {Workers} loops at once with one ONNX Runtime thread " +
                        $"each (the server's default), {SecondsPerRate:0} s per rate after a warm-up, over {Images} Training JPEGs; " +
                        $"the server at 10 clients, {ServerRequests} requests " +
                        $"per model and endpoint after {Math.Max(50, ServerRequests / 2)} not counted, started once for all rows " +
                        $"and first sent {2 * ServerRequests} requests. Images per second; compare only within this table. " +
                        "The ceiling is decode, the slice checks, the input pipeline and `Run`: what the server must do for an " +
                        "answer. The load generator runs on the same cores, so the server's throughput share understates it; the " +
                        "CPU share compares the ceiling's CPU time per image with the server's per /predict request (from /proc), " +
                        "which the generator does not affect. The last column is the share a server adding nothing could reach " +
                        "beside the generator, from the generator's own CPU per request.");
        text.AppendLine();
        text.AppendLine("| model | `Run` (predict) | `Run` (Grad-CAM) | decode alone | decode + checks + pipeline + `Run` (ceiling) | " +
                        "server `/predict`, 10 clients | share of ceiling | server CPU ms per `/predict` | CPU share of ceiling | " +
                        "server `/gradcam`, 10 clients | server RSS peak MB | client CPU ms per `/predict` | reachable share |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var row in Rows)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| `{row.Model}` | {row.RunPredict:F0} | {row.RunGradCam:F0} | {row.Decode:F0} | {row.Ceiling:F0} | " +
                $"{row.ServerPredict:F0} | {row.ShareOfCeiling:P0} | " +
                $"{row.ServerCpuMsPerPredict:F2} | {row.CpuShareOfCeiling:P0} | " +
                $"{row.ServerGradCam:F0} | {row.ServerPeakRssMb?.ToString("F0", CultureInfo.InvariantCulture) ?? "n/a"} | " +
                $"{row.ClientCpuMsPerPredict:F2} | {row.ReachableShare:P0} |"));
        }
        text.AppendLine();
        text.AppendLine("Reproduce: `dotnet run --project loadtests/BrainTumor.LoadTests -c Release -- ceiling " +
                        string.Join(" ", Rows.Select(r => $"--model {r.Model}")) + "`.");
        return text.ToString();
    }
}

/// <summary>
/// What each model could serve on this machine if the server added nothing: ONNX Runtime's <c>Run</c> alone, decoding alone, and
/// decode + preprocessing + <c>Run</c> in a loop (the ceiling), each with one loop per core; then the server's throughput at 10 clients
/// beside it.
/// </summary>
public static class Ceiling
{
    public static async Task<CeilingReport> RunAsync(IReadOnlyList<string> models, string imageFolder, string repositoryRoot,
        string resultsFolder, double secondsPerRate, int serverRequests, TextWriter log)
    {
        var started = DateTimeOffset.UtcNow;
        var images = RequestImages.Load(imageFolder, perClass: 16);
        string modelsFolder = Path.Combine(repositoryRoot, "models");
        int workers = Environment.ProcessorCount;
        var measured = new List<(string Model, double RunPredict, double RunGradCam, double Decode, double Ceiling)>();
        foreach (string name in models)
        {
            using var model = ClassifierModel.Load(Path.Combine(modelsFolder, name), new InferenceOptions { IntraOpThreads = 1 });
            var method = model.DefaultCamMethod;
            var prepared = Enumerable.Range(0, images.Count).Select(i =>
            {
                using var bitmap = ImageLoader.Decode(images.Bytes(i), atLeast: model.InputSize);
                return model.Prepare(bitmap).Pixels;
            }).ToArray();
            double runPredict = Rate(workers, secondsPerRate, i => model.Predict(prepared[i % prepared.Length], withGradCam: false));
            double runGradCam = Rate(workers, secondsPerRate,
                i => model.Predict(prepared[i % prepared.Length], withGradCam: true, method: method));
            // Decoded as the server decodes for this model: at the reduced JPEG scale that still covers its input.
            double decode = Rate(workers, secondsPerRate, i => ImageLoader.Decode(images.Bytes(i), atLeast: model.InputSize).Dispose());
            double ceiling = Rate(workers, secondsPerRate, i =>
            {
                using var bitmap = ImageLoader.Decode(images.Bytes(i), atLeast: model.InputSize);
                if (SlicePlausibility.Problem(bitmap) is { } refusal)
                {
                    throw new LoadTestException($"A load-test image was refused: {refusal.Title}.");
                }
                model.Predict(model.Prepare(bitmap).Pixels, withGradCam: false);
            });
            log.WriteLine($"{name}: Run {runPredict:F0}/s (Grad-CAM {runGradCam:F0}/s), decode {decode:F0}/s, ceiling {ceiling:F0}/s");
            measured.Add((name, runPredict, runGradCam, decode, ceiling));
        }

        var rows = new List<CeilingRow>();
        await using (var server = await ServerProcess.StartAsync(repositoryRoot, modelsFolder, log))
        {
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue };
            using var client = new HttpClient(handler) { BaseAddress = server.Url, Timeout = TimeSpan.FromSeconds(60) };
            // Tiered compilation compiles the server's hot framework code again after some use; the first row must not pay for it.
            await new LoadRunner(client, images, Scenario.Predict, measured[0].Model).WarmUpAsync(2 * serverRequests, 10);
            foreach (var m in measured)
            {
                var throughput = new Dictionary<Scenario, LevelResult>();
                var cpuMsPerRequest = new Dictionary<Scenario, double>();
                var clientCpuMsPerRequest = new Dictionary<Scenario, double>();
                foreach (var scenario in new[] { Scenario.Predict, Scenario.GradCam })
                {
                    var runner = new LoadRunner(client, images, scenario, m.Model);
                    await runner.WarmUpAsync(Math.Max(50, serverRequests / 2), 10);
                    server.ResetPeak();
                    var cpuBefore = server.CpuTime;
                    var clientCpuBefore = Environment.CpuUsage.TotalTime;
                    throughput[scenario] = await runner.RunLevelAsync(1, 10, serverRequests, server);
                    cpuMsPerRequest[scenario] = (server.CpuTime - cpuBefore).TotalMilliseconds / serverRequests;
                    clientCpuMsPerRequest[scenario] =
                        (Environment.CpuUsage.TotalTime - clientCpuBefore).TotalMilliseconds / serverRequests;
                    if (throughput[scenario].Failed > 0)
                    {
                        throw new LoadTestException(
                            $"{m.Model}: {throughput[scenario].Failed} of {serverRequests} {scenario} requests failed.");
                    }
                }
                var row = new CeilingRow(m.Model, m.RunPredict, m.RunGradCam, m.Decode, m.Ceiling, throughput[Scenario.Predict].Throughput,
                    throughput[Scenario.GradCam].Throughput, throughput.Values.Max(l => l.ServerPeakRssMb),
                    cpuMsPerRequest[Scenario.Predict], clientCpuMsPerRequest[Scenario.Predict], workers);
                log.WriteLine($"{m.Model}: server /predict {row.ServerPredict:F0}/s ({row.ShareOfCeiling:P0} of the ceiling, " +
                              $"{row.CpuShareOfCeiling:P0} by CPU; at most {row.ReachableShare:P0} beside the load generator), " +
                              $"/gradcam {row.ServerGradCam:F0}/s");
                rows.Add(row);
            }
        }

        var report = new CeilingReport(started, LoadTestReport.DescribeMachine(), Machine.Flags, workers, secondsPerRate, images.Count,
            serverRequests, rows);
        LoadTestReport.SaveFolder(Path.Combine(resultsFolder, $"ceiling-{started:yyyyMMdd-HHmmss}"), report, report.Markdown(), log);
        return report;
    }

    /// <summary>
    /// Iterations per second of <paramref name="work"/> run by <paramref name="workers"/> threads at once, after one untimed second.
    /// </summary>
    private static double Rate(int workers, double seconds, Action<int> work)
    {
        double Measure(double duration)
        {
            long total = 0;
            var clock = Stopwatch.StartNew();
            var threads = Enumerable.Range(0, workers).Select(w => new Thread(() =>
            {
                int count = 0;
                while (clock.Elapsed.TotalSeconds < duration)
                {
                    work(w * 7919 + count++);
                }
                Interlocked.Add(ref total, count);
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            return total / clock.Elapsed.TotalSeconds;
        }
        Measure(1);
        return Measure(seconds);
    }
}
