using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using BrainTumor.Tests;

namespace BrainTumor.Api.Tests;

/// <summary>
/// Publishes the server exactly as the Dockerfile's build stage does, starts the output as the container
/// would (with the repository's models), and classifies a real slice over real HTTP.
/// </summary>
public sealed class PublishedServerTests : IDisposable
{
    private readonly string output = Directory.CreateTempSubdirectory("braintumor-publish-").FullName;

    public void Dispose() => Directory.Delete(output, recursive: true);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task ThePublishedServerStartsAndAnswers()
    {
        var publish = await DotnetProcess.RunAsync(RepositoryPaths.Root, "publish", "src/BrainTumor.Api", "-c", "Release", "-o", output);
        Assert.True(publish.ExitCode == 0, publish.Output + publish.Error);

        int port = FreePort();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = output, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "BrainTumor.Api.dll", "--urls", $"http://127.0.0.1:{port}", "--Inference:ModelsDirectory", BrainTumorApiFactory.ModelsDirectory })
        {
            start.ArgumentList.Add(argument);
        }
        using var server = Process.Start(start)!;
        var log = server.StandardOutput.ReadToEndAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var deadline = Stopwatch.StartNew();
            HttpStatusCode? ready = null;
            while (deadline.Elapsed < TimeSpan.FromSeconds(60) && ready != HttpStatusCode.OK && !server.HasExited)
            {
                try
                {
                    ready = (await client.GetAsync("/health/ready")).StatusCode;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(250);
                }
            }
            Assert.True(ready == HttpStatusCode.OK, $"not ready after {deadline.Elapsed}; exited: {server.HasExited}");

            var response = await client.PostAsync("/predict", Uploads.Form(Uploads.DatasetJpeg()));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("\"probabilities\"", await response.Content.ReadAsStringAsync());
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            server.WaitForExit();
        }
        Assert.Contains("Loaded model custom-cnn", await log);
    }
}
