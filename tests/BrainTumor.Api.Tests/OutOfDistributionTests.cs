using BrainTumor.Tests;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SkiaSharp;

namespace BrainTumor.Api.Tests;

/// <summary>
/// Images that are not brain MRI slices: refused before the model when they cannot be slices, flagged (or refused) by the guard
/// otherwise.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed class OutOfDistributionTests(BrainTumorApiFactory factory)
{
    private readonly HttpClient client = factory.CreateClient();

    /// <summary>Debian's python3-skimage sample photographs: material no one here chose by looking at the models.</summary>
    private const string Camera = "/usr/lib/python3/dist-packages/skimage/data/camera.png";
    private const string Astronaut = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";

    private static byte[] Png(int width, int height, Action<SKBitmap> draw)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        draw(bitmap);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static byte[] Noise(int seed) => Png(256, 256, bitmap =>
    {
        var pixels = bitmap.GetPixelSpan();
        new Random(seed).NextBytes(pixels);
        // Grey noise: colour noise is refused before any model runs, and these tests are about the model's guard.
        for (int i = 0; i < pixels.Length; i += 4)
        {
            pixels[i + 1] = pixels[i + 2] = pixels[i];
            pixels[i + 3] = 255;
        }
    });

    private static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode status, string title)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(title, problem.GetProperty("title").GetString());
        return problem;
    }

    [DatasetFact]
    public async Task ASliceFromTheDatasetIsInDistribution()
    {
        var response = await client.PostAsync("/predict", Uploads.Form(Uploads.DatasetJpeg("meningioma_tumor", 2)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var guard = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("inDistribution");
        Assert.True(guard.GetProperty("ok").GetBoolean());
        Assert.True(guard.GetProperty("score").GetDouble() <= guard.GetProperty("threshold").GetDouble());
        Assert.Equal(JsonValueKind.Null, guard.GetProperty("reason").ValueKind);
        Assert.Equal("true", response.Headers.GetValues("X-In-Distribution").Single());
    }

    [Fact]
    public async Task AGreyPhotographIsAnsweredButFlaggedWithItsReasonUnderTheDefaultPolicy()
    {
        var response = await client.PostAsync("/predict",
            Uploads.Form(File.ReadAllBytes(Camera), contentType: "image/png", fileName: "photo.png"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var guard = body.GetProperty("inDistribution");
        Assert.False(guard.GetProperty("ok").GetBoolean());
        Assert.Equal("Its features are unlike those of the training slices: " +
                     $"out-of-distribution score {guard.GetProperty("score").GetDouble():0}, " +
                     $"above the limit of {guard.GetProperty("threshold").GetDouble():0} " +
                     "that 99% of held-out training-source slices stay under.",
            guard.GetProperty("reason").GetString());
        Assert.Equal("false", response.Headers.GetValues("X-In-Distribution").Single());
        Assert.True(
            double.Parse(response.Headers.GetValues("X-In-Distribution-Score").Single(), System.Globalization.CultureInfo.InvariantCulture)
            > body.GetProperty("inDistribution").GetProperty("threshold").GetDouble());
    }

    [DatasetFact]
    public async Task UnderTheRefusePolicyNoiseGets422AndASliceIsStillAnswered()
    {
        using var refusing = factory.ClientWith(("OutOfDistribution:Policy", "Refuse"));

        var problem = await Problem(
            await refusing.PostAsync("/predict", Uploads.Form(Noise(1), contentType: "image/png", fileName: "noise.png")),
            HttpStatusCode.UnprocessableEntity, "Unlike the training images");
        var gradCam = await refusing.PostAsync("/gradcam", Uploads.Form(Noise(2), contentType: "image/png", fileName: "noise.png"));
        var slice = await refusing.PostAsync("/predict", Uploads.Form(Uploads.DatasetJpeg("pituitary_tumor", 4)));

        Assert.Contains("lite-cnn", problem.GetProperty("detail").GetString());
        await Problem(gradCam, HttpStatusCode.UnprocessableEntity, "Unlike the training images");
        Assert.Equal(HttpStatusCode.OK, slice.StatusCode);
    }

    [Fact]
    public async Task AColourPhotographIsRefusedBeforeTheModel()
    {
        var problem = await Problem(
            await client.PostAsync("/gradcam", Uploads.Form(File.ReadAllBytes(Astronaut), contentType: "image/png", fileName: "photo.png")),
            HttpStatusCode.UnprocessableEntity, "Not a greyscale MRI slice");

        Assert.Contains("coloured", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ACtDicomFileIsRefusedAsCtBeforeTheModel()
    {
        byte[] ct = File.ReadAllBytes(RepositoryPaths.PydicomFile("CT_small.dcm"));

        var problem = await Problem(await client.PostAsync("/predict", Uploads.Raw(ct, "application/dicom")),
            HttpStatusCode.UnprocessableEntity, "This looks like CT; the models read MRI");

        Assert.Contains("Modality is CT", problem.GetProperty("detail").GetString());
    }

    /// <summary>
    /// A head CT of the Training data (data/modality/training-ct.csv) sent as JPEG: no DICOM Modality, the skull gives it away.
    /// </summary>
    [DatasetFact]
    public async Task AHeadCtJpegIsRefusedAsCtBeforeTheModel()
    {
        byte[] ct = File.ReadAllBytes(Path.Combine(RepositoryPaths.Dataset, "no_tumor", "image(20).jpg"));
        Assert.Contains(Path.Combine("no_tumor", "image(20).jpg"), RepositoryPaths.TrainingCtSlices);

        var problem = await Problem(await client.PostAsync("/predict", Uploads.Form(ct)),
            HttpStatusCode.UnprocessableEntity, "This looks like CT; the models read MRI");

        Assert.Contains("bright ring", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ABlankFrameIsRefusedBeforeTheModel()
    {
        byte[] blank = Png(300, 300, bitmap => bitmap.Erase(new SKColor(40, 40, 40)));

        var problem = await Problem(
            await client.PostAsync("/predict", Uploads.Form(blank, contentType: "image/png", fileName: "blank.png")),
            HttpStatusCode.UnprocessableEntity, "Not an MRI slice");

        Assert.Contains("uniform", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AStripIsRefusedBeforeTheModel()
    {
        byte[] strip = Png(1200, 300, bitmap => new Random(5).NextBytes(bitmap.GetPixelSpan()));

        var problem = await Problem(
            await client.PostAsync("/gradcam", Uploads.Form(strip, contentType: "image/png", fileName: "strip.png")),
            HttpStatusCode.UnprocessableEntity, "Not an MRI slice");

        Assert.Contains("1200x300", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task EveryModelListsItsGuardWithItsMeasuredEvaluation()
    {
        var models = await client.GetFromJsonAsync<JsonElement>("/models");

        foreach (var model in models.EnumerateArray())
        {
            var guard = model.GetProperty("outOfDistribution");
            Assert.Equal("mahalanobis", guard.GetProperty("method").GetString());
            Assert.True(guard.GetProperty("threshold").GetDouble() > 0);
            Assert.NotEmpty(guard.GetProperty("evaluation").GetProperty("groups").EnumerateArray());
        }
    }
}
