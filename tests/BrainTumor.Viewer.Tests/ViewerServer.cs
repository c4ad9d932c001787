using BrainTumor.Tests;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace BrainTumor.Viewer.Tests;

/// <summary>The server as shipped, with the repository's models, on a real Kestrel port that a browser can reach.</summary>
public sealed class ViewerServer : WebApplicationFactory<Program>
{
    private readonly (string Key, string Value)[] settings;

    public ViewerServer() : this(Array.Empty<(string, string)>())
    {
    }

    /// <summary>A server with some settings changed.</summary>
    internal ViewerServer(params (string Key, string Value)[] settings)
    {
        this.settings = settings;
        UseKestrel(0);
        StartServer();
    }

    public Uri BaseAddress => ClientOptions.BaseAddress;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Inference:ModelsDirectory", Path.Combine(RepositoryPaths.Root, "models"));
        builder.UseSetting("Inference:WarmupRuns", "1");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }
}
