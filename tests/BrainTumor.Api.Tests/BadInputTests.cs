using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace BrainTumor.Api.Tests;

/// <summary>Every bad request gets RFC 9457 problem+json with a specific title, and the server keeps serving.</summary>
[Collection(DefaultServerCollection.Name)]
public sealed class BadInputTests(BrainTumorApiFactory factory)
{
    private readonly HttpClient client = factory.CreateClient();

    private async Task AssertProblem(HttpResponseMessage response, HttpStatusCode status, string title)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));

        var stillServing = await client.PostAsync("/predict", Uploads.Form(Uploads.PublicJpeg()));
        Assert.Equal(HttpStatusCode.OK, stillServing.StatusCode);
    }

    [Fact]
    public async Task PredictWithoutFileReturnsProblemDetails() =>
        await AssertProblem(await client.PostAsync("/predict", new StringContent("{}", System.Text.Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest, "No image");

    [Fact]
    public async Task PredictWithTheWrongFieldNameReturnsProblemDetails() =>
        await AssertProblem(await client.PostAsync("/predict", Uploads.Form(Uploads.PublicJpeg(), field: "file")),
            HttpStatusCode.BadRequest, "No image");

    [Fact]
    public async Task AnEmptyFileIsRefused() =>
        await AssertProblem(await client.PostAsync("/predict", Uploads.Form([])), HttpStatusCode.BadRequest, "Empty image");

    [Fact]
    public async Task TextPretendingToBeAnImageIsUnsupported() =>
        await AssertProblem(await client.PostAsync("/predict", Uploads.Form("hello, not a picture"u8.ToArray())),
            HttpStatusCode.UnsupportedMediaType, "Unsupported image format");

    [Fact]
    public async Task AGifIsUnsupported() =>
        await AssertProblem(await client.PostAsync("/gradcam", Uploads.Form(
                Convert.FromBase64String("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="), contentType: "image/gif")),
            HttpStatusCode.UnsupportedMediaType, "Unsupported image format");

    [Fact]
    public async Task ATruncatedJpegIsCorrupt()
    {
        byte[] jpeg = Uploads.PublicJpeg();

        await AssertProblem(await client.PostAsync("/predict", Uploads.Form(jpeg[..(jpeg.Length / 3)])), HttpStatusCode.BadRequest,
            "Corrupt image");
    }

    [Fact]
    public async Task AnUploadOverTheSizeLimitIsRefused() =>
        await AssertProblem(await client.PostAsync("/predict", Uploads.Raw(new byte[21 * 1024 * 1024])),
            HttpStatusCode.RequestEntityTooLarge, "Image too large");

    [Fact]
    public async Task HugeDeclaredDimensionsAreRefusedBeforeDecoding() =>
        await AssertProblem(await client.PostAsync("/predict", Uploads.Raw(Uploads.BmpDeclaring(30_000), "image/bmp")),
            HttpStatusCode.BadRequest, "Image dimensions too large");

    [Fact]
    public async Task AnUnknownModelIsNotFound() =>
        await AssertProblem(await client.PostAsync("/predict?model=nope", Uploads.Form(Uploads.PublicJpeg())),
            HttpStatusCode.NotFound, "Unknown model");

    [Fact]
    public async Task AnUnknownClassIsRefused() =>
        await AssertProblem(await client.PostAsync("/gradcam?class=astrocytoma", Uploads.Form(Uploads.PublicJpeg())),
            HttpStatusCode.BadRequest, "Unknown class");

    [Theory]
    [InlineData("alpha=1.5", "Invalid alpha")]
    [InlineData("alpha=half", "Invalid alpha")]
    [InlineData("output=video", "Invalid output")]
    public async Task BadGradCamOptionsAreRefused(string query, string title) =>
        await AssertProblem(await client.PostAsync($"/gradcam?{query}", Uploads.Form(Uploads.PublicJpeg())), HttpStatusCode.BadRequest,
            title);

    [Theory]
    [InlineData("/predict?operatingPoint=cautious", "Invalid operatingPoint",
        "operatingPoint must be one of argmax, sensitive, not 'cautious'.")]
    [InlineData("/predict?format=gif", "Invalid format", "format must be one of json, png, not 'gif'.")]
    [InlineData("/gradcam?output=video", "Invalid output", "output must be one of overlay, heatmap, mask, json, not 'video'.")]
    [InlineData("/gradcam?method=scorecam", "Invalid method", "method must be one of gradcam, hirescam, gradcampp, not 'scorecam'.")]
    public async Task AValueOutsideAParametersChoicesIsRefusedWithTheChoicesListed(string route, string title, string detail)
    {
        var response = await client.PostAsync(route, Uploads.Form(Uploads.PublicJpeg()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ChoicesAreReadWhateverTheirCase()
    {
        var png = await client.PostAsync("/predict?format=PNG&operatingPoint=Sensitive", Uploads.Form(Uploads.PublicJpeg()));
        var mask = await client.PostAsync("/gradcam?output=Mask&method=HiResCAM", Uploads.Form(Uploads.PublicJpeg()));

        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        Assert.Equal("image/png", mask.Content.Headers.ContentType?.MediaType);
        Assert.Equal("hirescam", mask.Headers.GetValues("X-GradCam-Method").Single());
    }

    [Fact]
    public async Task ABadFormatIsRefused() =>
        await AssertProblem(await client.PostAsync("/predict?format=gif", Uploads.Form(Uploads.PublicJpeg())), HttpStatusCode.BadRequest,
            "Invalid format");

    [Fact]
    public async Task AnUnknownModelManifestIsNotFound() =>
        await AssertProblem(await client.GetAsync("/models/nope"), HttpStatusCode.NotFound, "Unknown model");

    [Fact]
    public async Task TwoImagesInOneFormAreRefusedInsteadOfUsingTheFirst()
    {
        var form = new MultipartFormDataContent();
        foreach (var name in new[] { "a.jpg", "b.jpg" })
        {
            var part = new ByteArrayContent(Uploads.PublicJpeg());
            part.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/jpeg");
            form.Add(part, "image", name);
        }

        await AssertProblem(await client.PostAsync("/predict", form), HttpStatusCode.BadRequest, "Several images");
    }

    [Fact]
    public async Task AMultipartBodyCutShortIsABadRequestNotAServerError()
    {
        byte[] jpeg = Uploads.PublicJpeg();
        var head = System.Text.Encoding.ASCII.GetBytes(
            "--cut\r\nContent-Disposition: form-data; name=\"image\"; filename=\"slice.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n");
        var body = new ByteArrayContent([.. head, .. jpeg.AsSpan(0, jpeg.Length / 2)]);
        body.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=cut");

        await AssertProblem(await client.PostAsync("/predict", body), HttpStatusCode.BadRequest, "Malformed form");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(8192, 1)]
    public async Task AnImageTooSmallForASliceIsRefused(int width, int height)
    {
        using var bitmap = new SkiaSharp.SKBitmap(width, height);
        using var png = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);

        await AssertProblem(await client.PostAsync("/predict", Uploads.Form(png.ToArray(), contentType: "image/png", fileName: "tiny.png")),
            HttpStatusCode.BadRequest, "Image too small");
    }
}
