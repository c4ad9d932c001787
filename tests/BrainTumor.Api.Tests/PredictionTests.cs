using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BrainTumor.Tests;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using SkiaSharp;

namespace BrainTumor.Api.Tests;

[Collection(DefaultServerCollection.Name)]
public sealed class PredictionTests(BrainTumorApiFactory factory)
{
    private readonly HttpClient client = factory.CreateClient();

    private static readonly string[] Labels = ["glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor"];

    [Fact]
    public async Task PredictReturnsTheLabelWithProbabilitiesThatSumToOne()
    {
        var response = await client.PostAsync("/predict", Uploads.Form(Uploads.PublicJpeg()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("lite-cnn", body.GetProperty("model").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("modelVersion").GetString()));
        var probabilities = body.GetProperty("probabilities").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(Labels, probabilities.Keys);
        Assert.Equal(1.0, probabilities.Values.Sum(), 4);
        string label = body.GetProperty("label").GetString()!;
        Assert.Equal(probabilities.MaxBy(p => p.Value).Key, label);
        Assert.Equal(probabilities[label], body.GetProperty("confidence").GetDouble(), 6);
        Assert.Equal(512, body.GetProperty("image").GetProperty("width").GetInt32());
        var timings = body.GetProperty("timings");
        Assert.True(timings.GetProperty("inferenceMs").GetDouble() > 0);
        Assert.True(timings.GetProperty("totalMs").GetDouble() >= timings.GetProperty("inferenceMs").GetDouble());
    }

    [Fact]
    public async Task PredictAcceptsTheRawImageAsTheBody()
    {
        byte[] jpeg = Uploads.PublicJpeg();

        var raw = await client.PostAsync("/predict", Uploads.Raw(jpeg));
        var form = await client.PostAsync("/predict", Uploads.Form(jpeg));

        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        var rawBody = await raw.Content.ReadFromJsonAsync<JsonElement>();
        var formBody = await form.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(formBody.GetProperty("probabilities").ToString(), rawBody.GetProperty("probabilities").ToString());
    }

    [Theory]
    [InlineData("/predict?format=png", null)]
    [InlineData("/predict", "image/png")]
    public async Task PredictAsPngReturnsTheAnnotatedImageAtItsSize(string url, string? accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = Uploads.Form(Uploads.PublicJpeg()) };
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }
        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        using var original = SKBitmap.Decode(Uploads.PublicJpeg());
        using var png = SKBitmap.Decode(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal((original.Width, original.Height), (png.Width, png.Height));
    }

    [Fact]
    public async Task ModelCanBeChosenByName()
    {
        var chosen = await client.PostAsync("/predict?model=custom-cnn", Uploads.Form(Uploads.PublicJpeg()));
        var byDefault = await client.PostAsync("/predict", Uploads.Form(Uploads.PublicJpeg()));

        Assert.Equal(HttpStatusCode.OK, chosen.StatusCode);
        var answer = await chosen.Content.ReadFromJsonAsync<JsonElement>();
        var defaultAnswer = await byDefault.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("custom-cnn", answer.GetProperty("model").GetString());
        Assert.Equal("lite-cnn", defaultAnswer.GetProperty("model").GetString());
        // Different networks give different probabilities for the same slice.
        Assert.NotEqual(answer.GetProperty("probabilities").ToString(), defaultAnswer.GetProperty("probabilities").ToString());
    }

    [DatasetTheory]
    [InlineData("no_tumor", 0)]
    [InlineData("no_tumor", 3)]
    [InlineData("glioma_tumor", 2)]
    [InlineData("pituitary_tumor", 42)]
    public async Task TheSensitiveOperatingPointAnswersATumourUnlessNoTumorReachesTheFittedMinimum(string label, int index)
    {
        double minimum = factory.Services.GetRequiredService<BrainTumor.Inference.ModelCatalog>().Find("lite-cnn")!
            .Manifest.SensitiveOperatingPoint!.NoTumorMinimum;

        var plain = await (await client.PostAsync("/predict", Uploads.Form(Uploads.DatasetJpeg(label, index))))
            .Content.ReadFromJsonAsync<JsonElement>();
        var sensitive = await (await client.PostAsync("/predict?operatingPoint=sensitive", Uploads.Form(Uploads.DatasetJpeg(label, index))))
            .Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("argmax", plain.GetProperty("operatingPoint").GetString());
        Assert.Equal("sensitive", sensitive.GetProperty("operatingPoint").GetString());
        double noTumor = plain.GetProperty("probabilities").GetProperty("no_tumor").GetDouble();
        string expected = noTumor >= minimum
            ? plain.GetProperty("label").GetString()!
            : plain.GetProperty("probabilities").EnumerateObject().Where(p => p.Name != "no_tumor").MaxBy(p => p.Value.GetDouble()).Name;
        Assert.Equal(expected, sensitive.GetProperty("label").GetString());
        Assert.Equal(sensitive.GetProperty("probabilities").GetProperty(expected).GetDouble(),
            sensitive.GetProperty("confidence").GetDouble(), 6);
    }

    [DatasetFact]
    public async Task TheRequestLogRecordsTheLabelTheAnswerGivesAtTheSensitiveOperatingPoint()
    {
        var recorded = new RecordedLogProperties();
        using var server = factory.WithWebHostBuilder(builder =>
            builder.ConfigureTestServices(services => services.AddSingleton<Serilog.IDiagnosticContext>(recorded)));
        using var recordedClient = server.CreateClient();
        var labelsThatMoved = 0;

        // The last is a held-out slice that the default (2026.12.05) calls no_tumor at 0.62, under its fitted minimum.
        foreach (var (label, index) in new[] { ("no_tumor", 0), ("no_tumor", 3), ("glioma_tumor", 2), ("pituitary_tumor", 42) })
        {
            var plain = await (await recordedClient.PostAsync("/predict", Uploads.Form(Uploads.DatasetJpeg(label, index))))
                .Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(plain.GetProperty("label").GetString(), recorded.Label);
            var sensitive = await (await recordedClient.PostAsync("/predict?operatingPoint=sensitive",
                Uploads.Form(Uploads.DatasetJpeg(label, index)))).Content.ReadFromJsonAsync<JsonElement>();

            Assert.Equal(sensitive.GetProperty("label").GetString(), recorded.Label);
            labelsThatMoved += plain.GetProperty("label").GetString() != sensitive.GetProperty("label").GetString() ? 1 : 0;
        }
        // Only a slice whose label moves shows that the log follows the operating point rather than the argmax.
        Assert.True(labelsThatMoved > 0);
    }

    [Fact]
    public async Task AnUnknownOperatingPointIs400()
    {
        var response = await client.PostAsync("/predict?operatingPoint=cautious", Uploads.Form(Uploads.PublicJpeg()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Invalid operatingPoint", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
    }

    /// <summary>The label the handlers record for the request log; requests are sent one at a time, so the last one's.</summary>
    private sealed class RecordedLogProperties : Serilog.IDiagnosticContext
    {
        public string? Label { get; private set; }

        public void Set(string propertyName, object? value, bool destructureObjects = false)
        {
            if (propertyName == "Label")
            {
                Label = value as string;
            }
        }

        public void SetException(Exception exception)
        {
        }
    }
}
