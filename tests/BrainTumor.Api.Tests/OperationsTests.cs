using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BrainTumor.Data;
using BrainTumor.Imaging;
using BrainTumor.Inference;
using BrainTumor.Models;
using BrainTumor.Onnx;
using BrainTumor.Tests;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace BrainTumor.Api.Tests;

[Collection(DefaultServerCollection.Name)]
public sealed class OperationsTests(BrainTumorApiFactory factory)
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task ModelsListsTheShippedManifestsWithTheirMetricsDefaultFirst()
    {
        var models = await client.GetFromJsonAsync<JsonElement>("/models");
        var single = await client.GetFromJsonAsync<JsonElement>("/models/custom-cnn");

        var names = models.EnumerateArray().Select(m => m.GetProperty("name").GetString()).ToList();
        Assert.Equal("lite-cnn", names[0]);
        Assert.Contains("custom-cnn", names);
        Assert.All(models.EnumerateArray(), m => Assert.True(m.GetProperty("metrics").GetProperty("accuracy").GetDouble() > 0));
        Assert.Equal(4, single.GetProperty("labels").GetArrayLength());
        Assert.Equal("relu3", single.GetProperty("gradCam").GetProperty("layer").GetString());
    }

    /// <summary>
    /// The answer is a type of the API's own; this keeps it the manifest's fields, in their order, until a change is meant.
    /// </summary>
    [Fact]
    public async Task EachModelIsAnsweredWithEveryFieldOfItsManifestInItsOrder()
    {
        var catalog = factory.Services.GetRequiredService<ModelCatalog>();
        var served = factory.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;

        foreach (var model in catalog.All)
        {
            Assert.Equal(JsonSerializer.Serialize(model.Manifest, served), await client.GetStringAsync($"/models/{model.Name}"));
        }
    }

    [Fact]
    public async Task HealthReportsLiveAndReady()
    {
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var ready = await BrainTumorApiFactory.WaitUntilReadyAsync(client);
        Assert.Equal("ready", (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task ReadinessIs503WhileTheModelsWarmUpAndTheServerAlreadyAnswers()
    {
        // 100 warm-up runs of each model take about half a minute here: long enough to be seen.
        using var slow = factory.ClientWith(("Inference:WarmupRuns", "100"));

        var ready = await slow.GetAsync("/health/ready");
        var live = await slow.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("Not ready", (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task SwaggerDocumentsEveryRouteAndTheUpload()
    {
        var document = await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        var paths = document.GetProperty("paths");
        foreach (var route in new[] { "/predict", "/gradcam", "/models", "/models/{model}", "/health/live", "/health/ready", "/metrics" })
        {
            Assert.True(paths.TryGetProperty(route, out _), $"{route} is not documented");
        }
        var upload = paths.GetProperty("/gradcam").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(upload.TryGetProperty("multipart/form-data", out var form));
        Assert.True(form.GetProperty("schema").GetProperty("properties").TryGetProperty("image", out _));
        var parameters = paths.GetProperty("/gradcam").GetProperty("post").GetProperty("parameters").EnumerateArray()
            .Select(p => p.GetProperty("name").GetString());
        Assert.Equal(["model", "class", "output", "alpha", "window", "frame", "method", "annotate"], parameters);
    }

    [Fact]
    public async Task ABurstOfParallelRequestsIsAnsweredWith200Or503AndNothingElse()
    {
        using var busy = factory.ClientWith(("Inference:MaxConcurrentRequests", "1"), ("Inference:MaxQueueLength", "2"));
        byte[] jpeg = Uploads.PublicJpeg();

        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => busy.PostAsync("/gradcam", Uploads.Form(jpeg))));

        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        // Retry-After is the queue's measured wait, so on a slow or busy machine it can exceed the 1 s minimum.
        Assert.All(responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable),
            r => Assert.InRange(r.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 60));
    }

    [Fact]
    public async Task AConfiguredApiKeyIsRequiredExceptForHealth()
    {
        using var guarded = factory.ClientWith(("Security:ApiKey", "s3cret"));

        var without = await guarded.PostAsync("/predict", Uploads.Form(Uploads.PublicJpeg()));
        var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = Uploads.Form(Uploads.PublicJpeg()) };
        request.Headers.Add("X-API-Key", "s3cret");
        var with = await guarded.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Equal("application/problem+json", without.Content.Headers.ContentType?.MediaType);
        Assert.Equal("ApiKey header=\"X-API-Key\"", without.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.OK, with.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await BrainTumorApiFactory.WaitUntilReadyAsync(guarded)).StatusCode);
    }

    [Fact]
    public async Task TheApiKeyCanComeFromAFileSoThatItIsNotOnTheCommandLine()
    {
        string file = Path.GetTempFileName();
        File.WriteAllText(file, "from-a-secret\n");
        try
        {
            using var guarded = factory.ClientWith(("Security:ApiKeyFile", file));
            var request = new HttpRequestMessage(HttpMethod.Get, "/models");
            request.Headers.Add("X-API-Key", "from-a-secret");

            Assert.Equal(HttpStatusCode.Unauthorized, (await guarded.GetAsync("/models")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await guarded.SendAsync(request)).StatusCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void ControlCharactersInLoggedValuesCannotForgeALine()
    {
        var logEvent = new Serilog.Events.LogEvent(DateTimeOffset.UtcNow, Serilog.Events.LogEventLevel.Information, null,
            new Serilog.Parsing.MessageTemplateParser().Parse("HTTP GET {RequestPath}"),
            [new Serilog.Events.LogEventProperty("RequestPath",
                new Serilog.Events.ScalarValue("/models/a\r\n[05:00:00 ERR] FAKE\u001b[31m"))]);

        new BrainTumor.Api.Infrastructure.ControlCharacterEscaper().Enrich(logEvent, null!);

        Assert.Equal("HTTP GET \"/models/a\\r\\n[05:00:00 ERR] FAKE\\u001b[31m\"", logEvent.RenderMessage());
    }

    /// <summary>
    /// Training loads its images decoded at full size; evaluate, like the server by default, decodes a large JPEG smaller
    /// (ServerLimits:ScaledJpegDecoding). Either way the server must feed the model the loader's pixels.
    /// </summary>
    [DatasetTheory]
    [InlineData("custom-cnn", false)]
    [InlineData("lite-cnn", false)]
    [InlineData("custom-cnn", true)]
    [InlineData("lite-cnn", true)]
    public async Task TheServerPreparesPixelsExactlyAsTrainingAndEvaluationDo(string model, bool scaledDecoding)
    {
        using var server = factory.ClientWith(("ServerLimits:ScaledJpegDecoding", scaledDecoding ? "true" : "false"));
        var manifest = ModelManifest.Read(Path.Combine(BrainTumorApiFactory.ModelsDirectory, model, ModelManifest.FileName));
        string folder = Directory.CreateTempSubdirectory("braintumor-parity-").FullName;
        try
        {
            foreach (var label in DatasetLabels.BrainTumor)
            {
                Directory.CreateDirectory(Path.Combine(folder, label));
                File.Copy(BrainTumor.Tests.RepositoryPaths.DatasetImage(label, 7), Path.Combine(folder, label, "slice.jpg"));
            }
            var dataset = ImageFolderDataset.Load(folder, DatasetLabels.BrainTumor, manifest.Input.Width,
                preprocessing: manifest.Input.Steps, scaledDecoding: scaledDecoding);
            using var session = new InferenceSession(Path.Combine(BrainTumorApiFactory.ModelsDirectory, model, ModelManifest.OnnxFileName));

            foreach (var sample in dataset.Samples)
            {
                float[] tensor = sample.Image.ToTensor(manifest.Input.Normalization);
                using var input = OrtValue.CreateTensorValueFromMemory(tensor, [1, 3, manifest.Input.Height, manifest.Input.Width]);
                using var outputs = session.Run(new RunOptions(), new Dictionary<string, OrtValue> { [ModelTensorNames.Input] = input },
                    [ModelTensorNames.Probabilities]);
                float[] expected = outputs[0].GetTensorDataAsSpan<float>().ToArray();

                var response = await server.PostAsync($"/predict?model={model}",
                    Uploads.Form(File.ReadAllBytes(Path.Combine(folder, sample.RelativePath))));
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                float[] served = manifest.Labels.Select(l => body.GetProperty("probabilities").GetProperty(l).GetSingle()).ToArray();

                for (int i = 0; i < expected.Length; i++)
                {
                    Assert.Equal(expected[i], served[i], 1e-5f);
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
