using System.Net;
using System.Text.RegularExpressions;
using BrainTumor.Api.Infrastructure;
using BrainTumor.Inference;
using BrainTumor.Tests;

namespace BrainTumor.Api.Tests;

/// <summary>
/// The Kubernetes manifests in <c>deploy/kubernetes</c> are not applied anywhere here, so they are checked against
/// the app: their probes hit real routes, their port is the image's, and their settings are real options.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed partial class DeployManifestTests(BrainTumorApiFactory factory)
{
    private static readonly string Deployment =
        File.ReadAllText(Path.Combine(RepositoryPaths.Root, "deploy", "kubernetes", "deployment.yaml"));

    [Fact]
    public async Task EveryProbePathIsAHealthRouteOfTheApp()
    {
        var client = factory.CreateClient();
        var paths = ProbePath().Matches(Deployment).Select(m => m.Groups[1].Value).Distinct().ToList();

        Assert.Equal(["/health/live", "/health/ready"], paths.Order());
        foreach (var path in paths)
        {
            Assert.Equal(HttpStatusCode.OK, (await BrainTumorApiFactory.WaitUntilReadyAsync(client)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
        }
    }

    [Fact]
    public void TheContainerPortIsTheOneTheImageListensOn()
    {
        string dockerfile = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "Dockerfile"));
        string port = ContainerPort().Match(Deployment).Groups[1].Value;

        Assert.Contains($"EXPOSE {port}", dockerfile);
        Assert.Contains($"\"http://0.0.0.0:{port}\"", dockerfile);
    }

    [Fact]
    public void EveryEnvironmentSettingIsAnOptionOfTheApp()
    {
        var sections = new Dictionary<string, Type>
        {
            [InferenceOptions.Section] = typeof(InferenceOptions),
            [ServerLimitsOptions.Section] = typeof(ServerLimitsOptions),
            [SecurityOptions.Section] = typeof(SecurityOptions),
            [ServerLoggingOptions.Section] = typeof(ServerLoggingOptions),
        };
        var settings = EnvironmentSetting().Matches(Deployment).Select(m => (Section: m.Groups[1].Value, Key: m.Groups[2].Value)).ToList();

        Assert.NotEmpty(settings);
        Assert.All(settings, setting =>
        {
            Assert.True(sections.TryGetValue(setting.Section, out var options),
                $"{setting.Section} is not a configuration section of the app.");
            Assert.True(options!.GetProperty(setting.Key) is { CanWrite: true },
                $"{setting.Section}:{setting.Key} is not a setting of {options.Name}.");
        });
    }

    [GeneratedRegex(@"path: (/\S+)")]
    private static partial Regex ProbePath();

    [GeneratedRegex(@"containerPort: (\d+)")]
    private static partial Regex ContainerPort();

    [GeneratedRegex(@"- name: (\w+)__(\w+)")]
    private static partial Regex EnvironmentSetting();
}
