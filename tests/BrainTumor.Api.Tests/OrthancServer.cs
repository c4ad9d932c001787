using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using BrainTumor.LoadTests;

namespace BrainTumor.Api.Tests;

/// <summary>
/// Debian's Orthanc with its DICOMweb plugin, run in the foreground on free loopback ports with its storage in a temporary folder,
/// knowing the service under test as the DICOMweb server "braintumor" so that it can push to it. Stopped and deleted on dispose.
/// </summary>
public sealed class OrthancServer : IAsyncDisposable
{
    public const string Executable = "/usr/sbin/Orthanc";
    public const string DicomWebPlugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
    public const string ServiceName = "braintumor";

    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(30);
    private readonly string folder = Directory.CreateTempSubdirectory("braintumor-orthanc-").FullName;
    private readonly System.Text.StringBuilder errors = new();
    private Process? process;

    /// <summary>The error lines Orthanc has logged.</summary>
    public string Errors { get { lock (errors) return errors.ToString(); } }

    private OrthancServer(Uri service)
    {
        int httpPort = ServerProcess.FreePort(), dicomPort = ServerProcess.FreePort();
        Url = new Uri($"http://127.0.0.1:{httpPort}/");
        var config = new JsonObject
        {
            ["Name"] = "BrainTumorTests",
            ["HttpPort"] = httpPort,
            ["DicomPort"] = dicomPort,
            ["StorageDirectory"] = Path.Combine(folder, "storage"),
            ["IndexDirectory"] = Path.Combine(folder, "storage"),
            ["RemoteAccessAllowed"] = false,
            ["AuthenticationEnabled"] = false,
            ["Plugins"] = new JsonArray(DicomWebPlugin),
            ["DicomWeb"] = new JsonObject
            {
                ["Enable"] = true,
                ["Root"] = "/dicom-web/",
                ["Servers"] = new JsonObject { [ServiceName] = new JsonArray(service.ToString()) },
            },
        };
        File.WriteAllText(ConfigPath, config.ToJsonString());
        Client = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri Url { get; }

    /// <summary>The DICOMweb root, as <c>DicomWeb:ResultsUrl</c> takes it.</summary>
    public string DicomWebUrl => new Uri(Url, "dicom-web").ToString();

    public HttpClient Client { get; }

    private string ConfigPath => Path.Combine(folder, "config.json");

    /// <param name="service">The base URL Orthanc's STOW-RS client posts <c>studies</c> under (the service's <c>/dicomweb/</c>).</param>
    public static async Task<OrthancServer> StartAsync(Uri service)
    {
        var orthanc = new OrthancServer(service);
        await orthanc.RunAsync();
        return orthanc;
    }

    /// <summary>Starts the process (again, on the same ports and storage) and waits for <c>GET /system</c>.</summary>
    public async Task RunAsync()
    {
        var start = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true
        };
        start.ArgumentList.Add(ConfigPath);
        process = Process.Start(start)
            ?? throw new InvalidOperationException("Orthanc did not start (install Debian's orthanc and orthanc-dicomweb).");
        // Orthanc logs to stderr; the pipes are drained so that it never blocks on them, and its errors kept for failure messages.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data?.StartsWith('E') == true)
            {
                lock (errors) errors.AppendLine(line.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(2) };
                if ((await probe.GetAsync("system")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
            if (process.HasExited || clock.Elapsed > StartDeadline)
            {
                throw new TimeoutException(
                    $"Orthanc did not answer GET /system within {StartDeadline.TotalSeconds} s (exited: {process.HasExited}).");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Kills the process and waits for it to be gone; the storage stays for <see cref="RunAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(deadline.Token);
        }
        process?.Dispose();
        process = null;
    }

    /// <summary>Stores a Part 10 file through Orthanc's REST API and returns its Orthanc ID.</summary>
    public async Task<string> UploadAsync(byte[] file)
    {
        var response = await Client.PostAsync("instances", new ByteArrayContent(file));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ID").GetString()!;
    }

    /// <summary>Has Orthanc push instances to the service by STOW-RS and waits for its job; the answer tells whether the job
    /// succeeded.</summary>
    public Task<HttpResponseMessage> PushAsync(params string[] ids) =>
        Client.PostAsJsonAsync($"dicom-web/servers/{ServiceName}/stow",
            new Dictionary<string, object> { ["Resources"] = ids, ["Synchronous"] = true });

    /// <summary>QIDO-RS: the instances of a study as DICOM JSON (none when Orthanc has no such study).</summary>
    public async Task<List<JsonElement>> StudyInstancesAsync(string studyUid)
    {
        var response = await Client.GetAsync($"dicom-web/studies/{studyUid}/instances?includefield=00080016");
        string body = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode && body.Length > 0 ? JsonDocument.Parse(body).RootElement.EnumerateArray().ToList() : [];
    }

    /// <summary>The Part 10 file of an instance found by its SOP Instance UID.</summary>
    public async Task<byte[]> FileAsync(string sopInstanceUid)
    {
        var lookup = await Client.PostAsync("tools/lookup", new StringContent(sopInstanceUid));
        string id = (await lookup.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Single().GetProperty("ID").GetString()!;
        return await Client.GetByteArrayAsync($"instances/{id}/file");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Client.Dispose();
        Directory.Delete(folder, recursive: true);
    }
}
