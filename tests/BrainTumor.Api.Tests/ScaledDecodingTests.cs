using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SkiaSharp;

namespace BrainTumor.Api.Tests;

/// <summary>
/// A JPEG at least twice the model's input is decoded smaller for the model (ServerLimits:ScaledJpegDecoding), and drawn on at its
/// own size. PNG is never decoded smaller, so a PNG of a given decode shows what the model read.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed class ScaledDecodingTests(BrainTumorApiFactory factory)
{
    private readonly HttpClient client = factory.CreateClient();

    /// <summary>A 512x512 grey head-like disc with texture on black: passes the slice check without dataset images.</summary>
    private static byte[] SyntheticSliceJpeg()
    {
        var random = new Random(7);
        using var bitmap = new SKBitmap(new SKImageInfo(512, 512, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan().ToArray();
        for (int y = 0; y < 512; y++)
        {
            for (int x = 0; x < 512; x++)
            {
                double r = Math.Sqrt((x - 256.0) * (x - 256.0) + (y - 240.0) * (y - 240.0));
                double texture = 40 * Math.Sin(x / 7.0) * Math.Cos(y / 11.0) + random.Next(-12, 13);
                pixels[y * 512 + x] = (byte)Math.Clamp(r < 190 ? 120 + texture + (r < 60 ? 60 : 0) : random.Next(0, 6), 0, 255);
            }
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    private static byte[] Png(SKBitmap bitmap)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static async Task<float[]> ProbabilitiesAsync(HttpResponseMessage response) => Probabilities(await BodyAsync(response));

    /// <summary><c>lite-cnn</c>'s probabilities for the JPEG and for <paramref name="decoded"/> sent as a lossless PNG.</summary>
    private static async Task<(float[] Jpeg, float[] Png)> AsJpegAndAsPngAsync(HttpClient client, byte[] jpeg, SKBitmap decoded) =>
        (await ProbabilitiesAsync(await client.PostAsync("/predict?model=lite-cnn", Uploads.Form(jpeg))),
         await ProbabilitiesAsync(await client.PostAsync("/predict?model=lite-cnn",
             Uploads.Form(Png(decoded), contentType: "image/png", fileName: "decoded.png"))));

    private static float[] Probabilities(JsonElement body) =>
        body.GetProperty("probabilities").EnumerateObject().Select(p => p.Value.GetSingle()).ToArray();

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task PredictAndGradCamGiveTheSameProbabilitiesForALargeJpeg()
    {
        byte[] jpeg = SyntheticSliceJpeg();

        var predict = await client.PostAsync("/predict", Uploads.Form(jpeg));
        var gradCam = await client.PostAsync("/gradcam?output=json", Uploads.Form(jpeg));

        var explained = await BodyAsync(gradCam);
        Assert.Equal(await ProbabilitiesAsync(predict), Probabilities(explained));
        var size = explained.GetProperty("image");
        Assert.Equal((512, 512), (size.GetProperty("width").GetInt32(), size.GetProperty("height").GetInt32()));
    }

    [Fact]
    public async Task TheModelReadsAJpegDecodedAtHalfSizeForA224PixelModel()
    {
        byte[] jpeg = SyntheticSliceJpeg();
        using var half = Imaging.ImageLoader.Decode(jpeg, atLeast: new SKSizeI(224, 224));
        Assert.Equal(256, half.Width);

        var (asJpeg, asPng) = await AsJpegAndAsPngAsync(client, jpeg, half);

        Assert.Equal(asPng, asJpeg);
    }

    [Fact]
    public async Task WithScaledJpegDecodingOffTheModelReadsTheFullDecode()
    {
        byte[] jpeg = SyntheticSliceJpeg();
        using var full = Imaging.ImageLoader.Decode(jpeg);
        using var unscaled = factory.ClientWith(("ServerLimits:ScaledJpegDecoding", "false"));

        var (asJpeg, asPng) = await AsJpegAndAsPngAsync(unscaled, jpeg, full);

        Assert.Equal(asPng, asJpeg);
    }

    [Fact]
    public async Task TheOverlayOfALargeJpegIsDrawnOnItsFullSizeDecode()
    {
        byte[] jpeg = SyntheticSliceJpeg();
        using var full = Imaging.ImageLoader.Decode(jpeg);

        var response = await client.PostAsync("/gradcam?alpha=0&annotate=false", Uploads.Form(jpeg));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var overlay = SKBitmap.Decode(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal((512, 512), (overlay.Width, overlay.Height));
        for (int y = 3; y < 512; y += 29)
        {
            for (int x = 5; x < 512; x += 31)
            {
                Assert.Equal(full.GetPixel(x, y), overlay.GetPixel(x, y));
            }
        }
    }

    [Fact]
    public async Task ThePredictPictureOfALargeJpegIsCaptionedAtItsOwnSize()
    {
        var response = await client.PostAsync("/predict?format=png", Uploads.Form(SyntheticSliceJpeg()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var codec = SKCodec.Create(new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        Assert.Equal(512, codec.Info.Width);
    }
}
