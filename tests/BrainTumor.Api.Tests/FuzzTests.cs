using System.Net;
using System.Text;

namespace BrainTumor.Api.Tests;

/// <summary>
/// Seeded fuzzing of what a client controls: the image bytes and the multipart envelope around them. Whatever
/// arrives, the answer is a 2xx or 4xx, never a 5xx, and the server keeps serving.
/// </summary>
[Trait("Category", "Slow")]
public sealed class FuzzTests(BrainTumorApiFactory factory) : IClassFixture<BrainTumorApiFactory>
{
    /// <summary>600 of each in the suite; <c>BRAINTUMOR_FUZZ_CASES</c> asks for a larger run.</summary>
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("BRAINTUMOR_FUZZ_CASES"), out int cases) ? cases : 600;

    [Fact]
    public async Task MutatedImagesNeverGiveAServerError()
    {
        var client = factory.CreateClient();
        var random = new Random(20261201);
        byte[][] seeds = [Uploads.DatasetJpeg(), PngOf(Uploads.DatasetJpeg())];
        var statuses = new Dictionary<HttpStatusCode, int>();
        for (int i = 0; i < Cases; i++)
        {
            byte[] image = Mutate(seeds[i % seeds.Length], random);
            var response = await client.PostAsync("/predict", Uploads.Form(image, contentType: i % 2 == 0 ? "image/jpeg" : "image/png"));
            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
            Assert.True((int)response.StatusCode < 500, $"case {i}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/predict", Uploads.Form(Uploads.DatasetJpeg()))).StatusCode);
        Assert.True(statuses.Count > 1, "The mutations should produce more than one kind of answer.");
    }

    [Fact]
    public async Task MutatedMultipartEnvelopesNeverGiveAServerError()
    {
        var client = factory.CreateClient();
        var random = new Random(42);
        byte[] jpeg = Uploads.DatasetJpeg();
        for (int i = 0; i < Cases; i++)
        {
            byte[] envelope = Envelope(jpeg, random, out string boundary);
            var content = new ByteArrayContent(envelope);
            content.Headers.TryAddWithoutValidation("Content-Type", random.Next(10) == 0 ? "multipart/form-data" : $"multipart/form-data; boundary={boundary}");
            var response = await client.PostAsync("/predict", content);
            Assert.True((int)response.StatusCode < 500, $"case {i}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            if (response.StatusCode == HttpStatusCode.RequestEntityTooLarge)
            {
                Assert.True(envelope.Length > 20 * 1024 * 1024, $"case {i}: 413 for a {envelope.Length}-byte body");
            }
        }
    }

    private static byte[] PngOf(byte[] jpeg)
    {
        using var bitmap = SkiaSharp.SKBitmap.Decode(jpeg);
        using var png = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var bytes = seed.ToList();
        switch (random.Next(4))
        {
            case 0:
                for (int flips = random.Next(1, 32); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Count)] = (byte)random.Next(256);
                }
                break;
            case 1:
                int keep = random.Next(1, bytes.Count);
                bytes.RemoveRange(keep, bytes.Count - keep);
                break;
            case 2:
                var junk = new byte[random.Next(1, 4096)];
                random.NextBytes(junk);
                bytes.InsertRange(random.Next(Math.Min(64, bytes.Count)), junk);
                break;
            default:
                // Header bytes, where sizes and chunk lengths live.
                for (int flips = random.Next(1, 8); flips > 0; flips--)
                {
                    bytes[random.Next(Math.Min(64, bytes.Count))] = (byte)random.Next(256);
                }
                break;
        }
        return [.. bytes];
    }

    private static byte[] Envelope(byte[] image, Random random, out string boundary)
    {
        boundary = "b" + random.Next();
        string newline = random.Next(4) == 0 ? "\n" : "\r\n";
        string fileName = random.Next(5) == 0 ? new string('a', random.Next(1, 40_000)) : "slice.jpg";
        var text = new StringBuilder();
        int extraParts = random.Next(6) == 0 ? random.Next(1, 3000) : 0;
        for (int part = 0; part < extraParts; part++)
        {
            text.Append($"--{boundary}{newline}Content-Disposition: form-data; name=\"f{part}\"{newline}{newline}v{newline}");
        }
        text.Append($"--{boundary}{newline}Content-Disposition: form-data; name=\"{(random.Next(8) == 0 ? "other" : "image")}\"; filename=\"{fileName}\"{newline}");
        text.Append($"Content-Type: image/jpeg{newline}{newline}");
        var head = Encoding.UTF8.GetBytes(text.ToString());
        var tail = Encoding.UTF8.GetBytes(random.Next(4) == 0 ? "" : $"{newline}--{boundary}--{(random.Next(3) == 0 ? "" : newline)}");
        byte[] body = [.. head, .. image, .. tail];
        if (random.Next(4) == 0)
        {
            // Cut the envelope anywhere, or damage a byte of its framing.
            return random.Next(2) == 0 ? body[..random.Next(1, body.Length)] : Damage(body, head.Length, random);
        }
        return body;
    }

    private static byte[] Damage(byte[] body, int headLength, Random random)
    {
        body[random.Next(headLength)] = (byte)random.Next(256);
        return body;
    }
}
