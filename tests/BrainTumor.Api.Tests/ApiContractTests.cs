using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using BrainTumor.Tests;

namespace BrainTumor.Api.Tests;

/// <summary>
/// The OpenAPI document is a reviewed file (<c>openapi.json</c> in the repository root): a change to routes,
/// parameters, responses or schemas fails here until the file is regenerated with
/// <c>BRAINTUMOR_UPDATE_OPENAPI=1 dotnet test --filter ApiContract</c> and the diff is committed.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed class ApiContractTests(BrainTumorApiFactory factory)
{
    private static readonly string CommittedPath = Path.Combine(RepositoryPaths.Root, "openapi.json");
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static async Task<JsonNode> DocumentAsync(HttpClient client) =>
        JsonNode.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"))!;

    [Fact]
    public async Task TheRunningAppsOpenApiDocumentIsTheCommittedOne()
    {
        string actual = (await DocumentAsync(factory.CreateClient())).ToJsonString(Indented) + "\n";
        if (Environment.GetEnvironmentVariable("BRAINTUMOR_UPDATE_OPENAPI") == "1")
        {
            File.WriteAllText(CommittedPath, actual);
        }
        string committed = File.Exists(CommittedPath) ? File.ReadAllText(CommittedPath).ReplaceLineEndings("\n") : "";
        Assert.True(committed == actual,
            "The API contract changed: regenerate openapi.json with BRAINTUMOR_UPDATE_OPENAPI=1 dotnet test --filter ApiContract, " +
            "and review the diff.");
    }

    [Fact]
    public async Task ChoicesAreEnumsTakenFromTheLoadedModelsAndTheCode()
    {
        var document = await DocumentAsync(factory.CreateClient());

        string[] Enum(string path, string parameter) => document["paths"]![path]!["post"]!["parameters"]!.AsArray()
            .Single(p => p!["name"]!.GetValue<string>() == parameter)!["schema"]!["enum"]!.AsArray()
            .Select(v => v!.GetValue<string>()).ToArray();

        string[] models = Directory.GetDirectories(BrainTumorApiFactory.ModelsDirectory).Select(d => Path.GetFileName(d)!)
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(models, Enum("/predict", "model"));
        Assert.Equal(models, Enum("/gradcam", "model"));
        Assert.Equal(["glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor"], Enum("/gradcam", "class"));
        Assert.Equal(["overlay", "heatmap", "mask", "json"], Enum("/gradcam", "output"));
        Assert.Equal(["json", "png"], Enum("/predict", "format"));
    }

    [Fact]
    public async Task ImageRoutesDeclareTheirJsonAndPngAnswersWithLinkedSchemas()
    {
        var document = await DocumentAsync(factory.CreateClient());

        foreach (var (path, schema) in new[] { ("/predict", "PredictionResponse"), ("/gradcam", "GradCamResponse") })
        {
            var ok = document["paths"]![path]!["post"]!["responses"]!["200"]!["content"]!;
            Assert.Equal($"#/components/schemas/{schema}", ok["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
            Assert.Equal("binary", ok["image/png"]!["schema"]!["format"]!.GetValue<string>());
        }
        Assert.Equal("#/components/schemas/GradCamPayload",
            document["components"]!["schemas"]!["GradCamResponse"]!["properties"]!["gradCam"]!["$ref"]!.GetValue<string>());
    }

    [Fact]
    public async Task TagsComeInTheOrderAPersonUsesThem()
    {
        var document = await DocumentAsync(factory.CreateClient());

        Assert.Equal(["Prediction", "Grad-CAM", "Models", "Operations"],
            document["tags"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task TheApiKeyAppearsInTheContractOnlyWhenOneIsConfigured()
    {
        var open = await DocumentAsync(factory.CreateClient());
        using var securedClient = factory.ClientWith(("Security:ApiKey", "secret"));
        var secured = await DocumentAsync(securedClient);

        Assert.Null(open["components"]?["securitySchemes"]);
        Assert.Null(open["paths"]!["/predict"]!["post"]!["responses"]!["401"]);
        Assert.NotNull(secured["components"]!["securitySchemes"]!["ApiKey"]);
        Assert.NotNull(secured["paths"]!["/predict"]!["post"]!["responses"]!["401"]);
        Assert.NotNull(secured["paths"]!["/predict"]!["post"]!["security"]);
        Assert.Null(secured["paths"]!["/health/live"]!["get"]!["responses"]!["401"]);
    }
}
