using System.Net;
using System.Net.Sockets;
using BrainTumor.LoadTests;
using BrainTumor.Tests;

namespace BrainTumor.Api.Tests;

/// <summary>
/// Publishes the server exactly as the Dockerfile's build stage does, starts the output as the container
/// would (with the repository's models), and classifies a real slice over real HTTP.
/// </summary>
[Trait("Category", "Slow")]
public sealed class PublishedServerTests : IDisposable
{
    private readonly string output = Directory.CreateTempSubdirectory("braintumor-publish-").FullName;

    public void Dispose() => Directory.Delete(output, recursive: true);

    [Fact]
    public async Task ThePublishedServerFolderStaysSmallAndTheServerStartsAndAnswers()
    {
        var publish = await DotnetProcess.RunAsync(RepositoryPaths.Root, "publish", "src/BrainTumor.Api", "-c", "Release",
            "-r", "linux-x64", "--self-contained", "false", "-o", output);
        Assert.True(publish.ExitCode == 0, publish.Output + publish.Error);
        long bytes = new DirectoryInfo(output).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        Assert.True(bytes < 150_000_000,
            $"the published folder holds {bytes / 1_000_000} MB; only linux-x64's native libraries belong in it");

        await using var server = await ServerProcess.LaunchAsync(Path.Combine(output, "BrainTumor.Api.dll"),
            BrainTumorApiFactory.ModelsDirectory, TextWriter.Null);
        using var client = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromSeconds(30) };
        var response = await client.PostAsync("/predict", Uploads.Form(Uploads.PublicJpeg()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"probabilities\"", await response.Content.ReadAsStringAsync());
        var viewer = await client.GetAsync("/");
        Assert.Equal("text/html", viewer.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Research software, not for diagnosis", await viewer.Content.ReadAsStringAsync());

        foreach (var model in Directory.GetDirectories(BrainTumorApiFactory.ModelsDirectory).Select(Path.GetFileName))
        {
            Assert.Matches($"Loaded model {model} .* in \\d+ ms", server.StartupLog);
        }
        Assert.Contains($"ready at {server.Url.ToString().TrimEnd('/')}", server.StartupLog);
    }

    [Fact]
    public async Task ABusyPortEndsTheServerWithOneLineAndExitCodeOne()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var result = await DotnetProcess.RunBuiltAsync("BrainTumor.Api.dll", "--urls", $"http://127.0.0.1:{port}",
            "--Inference:ModelsDirectory", BrainTumorApiFactory.ModelsDirectory);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: Failed to bind to address http://127.0.0.1:{port}: address already in use. " +
            "Choose another port with --urls http://localhost:<port>.",
            result.Error.Trim());
        Assert.DoesNotContain("   at ", result.Output);
    }
}
