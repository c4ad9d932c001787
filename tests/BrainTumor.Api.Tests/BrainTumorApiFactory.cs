using BrainTumor.Tests;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace BrainTumor.Api.Tests;

/// <summary>The server as shipped: the repository's models, default settings unless a test overrides one.</summary>
public sealed class BrainTumorApiFactory : WebApplicationFactory<Program>
{
    public static string ModelsDirectory => Path.Combine(RepositoryPaths.Root, "models");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Inference:ModelsDirectory", ModelsDirectory);
        builder.UseSetting("Inference:WarmupRuns", "1");
    }

    /// <summary>A server started with some settings changed.</summary>
    public WebApplicationFactory<Program> With(params (string Key, string Value)[] settings) =>
        WithWebHostBuilder(builder =>
        {
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        });

    /// <summary>Polls <c>/health/ready</c> until it answers 200 (the warm-up runs in the background), for at most 60 s.</summary>
    public static async Task<HttpResponseMessage> WaitUntilReadyAsync(HttpClient client)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var response = await client.GetAsync("/health/ready");
            if (response.StatusCode == System.Net.HttpStatusCode.OK || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                return response;
            }
            await Task.Delay(50);
        }
    }

    /// <summary>A client for a server started with some settings changed.</summary>
    public HttpClient ClientWith(params (string Key, string Value)[] settings) => With(settings).CreateClient();
}
