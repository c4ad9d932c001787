using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace BrainTumor.LoadTests;

/// <summary>
/// The API started from the repository (Release build) on a free loopback port, stopped on dispose; its
/// resident memory is sampled while it runs.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly CancellationTokenSource sampling = new();
    private readonly Task sampler;
    private long peakRssBytes;

    private ServerProcess(Process process, Uri url)
    {
        this.process = process;
        Url = url;
        sampler = Task.Run(SampleAsync);
    }

    public Uri Url { get; }
    public int ProcessId => process.Id;

    /// <summary>Highest resident memory seen since the last <see cref="ResetPeak"/>, in bytes.</summary>
    public long PeakRssBytes => Interlocked.Read(ref peakRssBytes);

    public long CurrentRssBytes => ReadRss(process.Id) ?? 0;

    /// <summary>CPU time the server has used so far, user and system, on all its threads.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            process.Refresh();
            return process.TotalProcessorTime;
        }
    }

    public void ResetPeak() => Interlocked.Exchange(ref peakRssBytes, CurrentRssBytes);

    /// <summary>Builds the server from the repository (Release) and launches it with the given models.</summary>
    public static async Task<ServerProcess> StartAsync(string repositoryRoot, string modelsFolder, TextWriter log)
    {
        log.WriteLine("building the server (Release)...");
        var build = Run("dotnet", repositoryRoot, "build", "src/BrainTumor.Api", "-c", "Release", "--nologo", "-v", "quiet");
        if (build.ExitCode != 0)
        {
            throw new LoadTestException($"Building src/BrainTumor.Api failed: {build.Output.Trim()}");
        }
        return await LaunchAsync(Path.Combine(repositoryRoot, "src/BrainTumor.Api/bin/Release/net10.0/BrainTumor.Api.dll"),
            modelsFolder, log);
    }

    /// <summary>
    /// Runs a built or published server (<paramref name="serverDll"/>) on a free loopback port and waits up to
    /// 90 s for <c>/health/ready</c>; what the server printed until then is kept in <see cref="StartupLog"/>.
    /// </summary>
    public static async Task<ServerProcess> LaunchAsync(string serverDll, string modelsFolder, TextWriter log)
    {
        int port = FreePort();
        var url = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(serverDll))!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // As the Dockerfile and `dotnet run` start it (docs/operations.md#memory).
            Environment = { ["MALLOC_ARENA_MAX"] = "2" },
        };
        foreach (var argument in new[] { Path.GetFullPath(serverDll), "--urls", url.ToString(), "--Inference:ModelsDirectory",
            Path.GetFullPath(modelsFolder) })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new LoadTestException("The server could not be started.");
        // The server logs a line per request; the pipes must be drained or it would block. Only the start-up is kept.
        var startup = new System.Text.StringBuilder();
        bool starting = true;
        process.OutputDataReceived += (_, e) => { if (Volatile.Read(ref starting)) lock (startup) startup.AppendLine(e.Data); };
        var errors = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (errors) errors.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new ServerProcess(process, url);
        using var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (process.HasExited)
            {
                await server.DisposeAsync();
                throw new LoadTestException($"The server exited at start-up: {errors.ToString().Trim()}");
            }
            try
            {
                if ((await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK)
                {
                    Volatile.Write(ref starting, false);
                    lock (startup) server.StartupLog = startup.ToString();
                    log.WriteLine($"server ready at {url} (pid {process.Id}) after {clock.Elapsed.TotalSeconds:F1} s");
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(250);
        }
        await server.DisposeAsync();
        throw new LoadTestException("The server did not report ready within 90 s.");
    }

    /// <summary>What the server wrote to standard output before it reported ready.</summary>
    public string StartupLog { get; private set; } = "";

    /// <summary>A loopback port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await sampling.CancelAsync();
        await sampler;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
        sampling.Dispose();
    }

    private async Task SampleAsync()
    {
        while (!sampling.IsCancellationRequested)
        {
            if (ReadRss(process.Id) is long rss)
            {
                long seen;
                while (rss > (seen = Interlocked.Read(ref peakRssBytes))
                    && Interlocked.CompareExchange(ref peakRssBytes, rss, seen) != seen)
                {
                }
            }
            try
            {
                await Task.Delay(100, sampling.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>VmRSS from /proc (Linux); null elsewhere or once the process is gone.</summary>
    private static long? ReadRss(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static (int ExitCode, string Output) Run(string file, string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error.Result);
    }
}
