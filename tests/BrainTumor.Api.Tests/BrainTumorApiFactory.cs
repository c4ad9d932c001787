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

    /// <summary>A client for a server started with some settings changed; disposing the client stops that server.</summary>
    public HttpClient ClientWith(params (string Key, string Value)[] settings)
    {
        var server = With(settings);
        return server.CreateDefaultClient(new StopsServerWithClient(server));
    }

    /// <summary>
    /// Without it, a server made for one client would run until this factory is disposed, holding every model and, for a slow
    /// warm-up, still warming up while other tests run.
    /// </summary>
    private sealed class StopsServerWithClient(WebApplicationFactory<Program> server) : DelegatingHandler
    {
        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                server.Dispose();
            }
        }
    }
}

/// <summary>
/// The test classes that use the server as shipped share one, since each start loads, checks and warms up every model package:
/// with a training job sharing the 2 cores, that saved more than running these classes one after another instead of side by side
/// cost (docs/development.md). A test that needs other settings starts a server of its own (<see cref="BrainTumorApiFactory.With"/>,
/// <see cref="BrainTumorApiFactory.ClientWith"/>), so nothing a test configures reaches the shared one.
/// </summary>
[CollectionDefinition(Name)]
public sealed class DefaultServerCollection : ICollectionFixture<BrainTumorApiFactory>
{
    public const string Name = "The server as shipped";
}
