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

    public void ResetPeak() => Interlocked.Exchange(ref peakRssBytes, CurrentRssBytes);

    public static async Task<ServerProcess> StartAsync(string repositoryRoot, string modelsFolder, TextWriter log)
    {
        log.WriteLine("building the server (Release)...");
        var build = Run("dotnet", repositoryRoot, "build", "src/BrainTumor.Api", "-c", "Release", "--nologo", "-v", "quiet");
        if (build.ExitCode != 0)
        {
            throw new LoadTestException($"Building src/BrainTumor.Api failed: {build.Output.Trim()}");
        }
        int port = FreePort();
        var url = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = repositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "src/BrainTumor.Api/bin/Release/net10.0/BrainTumor.Api.dll", "--urls", url.ToString(), "--Inference:ModelsDirectory", modelsFolder })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new LoadTestException("The server could not be started.");
        // The server logs a line per request; the pipes must be drained or it would block.
        process.OutputDataReceived += (_, _) => { };
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
                while (rss > (seen = Interlocked.Read(ref peakRssBytes)) && Interlocked.CompareExchange(ref peakRssBytes, rss, seen) != seen)
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
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
