using System.Net;
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
    public async Task ThePublishedServerStartsAndAnswers()
    {
        var publish = await DotnetProcess.RunAsync(RepositoryPaths.Root, "publish", "src/BrainTumor.Api", "-c", "Release", "-o", output);
        Assert.True(publish.ExitCode == 0, publish.Output + publish.Error);

        await using var server = await ServerProcess.LaunchAsync(Path.Combine(output, "BrainTumor.Api.dll"), BrainTumorApiFactory.ModelsDirectory, TextWriter.Null);
        using var client = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromSeconds(30) };
        var response = await client.PostAsync("/predict", Uploads.Form(Uploads.DatasetJpeg()));
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
}
