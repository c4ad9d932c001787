using System.Net;
using System.Text;
using BrainTumor.Tests;

namespace BrainTumor.Api.Tests;

/// <summary>
/// Seeded fuzzing of what a client controls: the image bytes and the multipart envelope around them. Whatever
/// arrives, the answer is a 2xx or 4xx, never a 5xx, within <see cref="Deadline"/>, and the server keeps serving.
/// </summary>
[Trait("Category", "Slow")]
[Collection(DefaultServerCollection.Name)]
public sealed class FuzzTests(BrainTumorApiFactory factory, Xunit.Abstractions.ITestOutputHelper output)
{
    private TimeSpan slowest;

    /// <summary>600 of each in the suite; <c>BRAINTUMOR_FUZZ_CASES</c> asks for a larger run.</summary>
    private static readonly int Cases =
        int.TryParse(Environment.GetEnvironmentVariable("BRAINTUMOR_FUZZ_CASES"), out int cases) ? cases : 600;

    /// <summary>
    /// A hang guard, not a speed target: a valid slice is answered in about 10 ms here, so 2 s catches a decoder that
    /// spins on hostile bytes (the 15 MB tEXt PNG took 4.8 s before its chunks were pre-scanned).
    /// </summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task MutatedImagesNeverGiveAServerError()
    {
        var client = await WarmClientAsync();
        var random = new Random(20261201);
        byte[][] seeds = [Uploads.PublicJpeg(), PngOf(Uploads.PublicJpeg())];
        var statuses = new Dictionary<HttpStatusCode, int>();
        for (int i = 0; i < Cases; i++)
        {
            byte[] image = Mutate(seeds[i % seeds.Length], random);
            var response = await PostWithinDeadlineAsync(client,
                Uploads.Form(image, contentType: i % 2 == 0 ? "image/jpeg" : "image/png"), i);
            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
        }
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/predict", Uploads.Form(Uploads.PublicJpeg()))).StatusCode);
        Assert.True(statuses.Count > 1, "The mutations should produce more than one kind of answer.");
        output.WriteLine($"{Cases} mutated images: {Counts(statuses)}; slowest {slowest.TotalMilliseconds:0} ms");
    }

    /// <summary>Files no one here wrote (Debian's python3-pydicom corpus) in every encoding the reader accepts, then mutated.</summary>
    private static readonly string[] DicomSeeds =
    [
        "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm", "CT_small.dcm", "image_dfl.dcm",
        "SC_rgb_rle_2frame.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_ybr_full_422_uncompressed.dcm", "ExplVR_BigEnd.dcm",
    ];

    [Fact]
    public async Task MutatedDicomFilesNeverGiveAServerError()
    {
        var client = await WarmClientAsync();
        var random = new Random(18);
        byte[][] seeds = DicomSeeds.Select(name => File.ReadAllBytes(RepositoryPaths.PydicomFile(name))).ToArray();
        var statuses = new Dictionary<HttpStatusCode, int>();
        for (int i = 0; i < Cases; i++)
        {
            byte[] seed = seeds[i % seeds.Length];
            // Half the cases damage the element headers and lengths after the preamble, where a DICOM reader is most exposed.
            byte[] file = random.Next(2) == 0 ? Mutate(seed, random) : DamageDicomHeader(seed, random);
            var response = await PostWithinDeadlineAsync(client, Uploads.Raw(file, "application/dicom"), i);
            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
            Assert.Contains(response.StatusCode,
                new[] { HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.UnsupportedMediaType,
                    HttpStatusCode.UnprocessableEntity });
        }
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/predict", Uploads.Raw(seeds[0], "application/dicom"))).StatusCode);
        output.WriteLine($"{Cases} mutated DICOM files: {Counts(statuses)}; slowest {slowest.TotalMilliseconds:0} ms");
    }

    private static byte[] DamageDicomHeader(byte[] seed, Random random)
    {
        byte[] bytes = [.. seed];
        int end = Math.Min(bytes.Length, 2048);
        for (int flips = random.Next(1, 6); flips > 0; flips--)
        {
            bytes[random.Next(132, end)] = (byte)random.Next(256);
        }
        return bytes;
    }

    [Fact]
    public async Task MutatedMultipartEnvelopesNeverGiveAServerError()
    {
        var client = await WarmClientAsync();
        var random = new Random(42);
        byte[] jpeg = Uploads.PublicJpeg();
        var statuses = new Dictionary<HttpStatusCode, int>();
        for (int i = 0; i < Cases; i++)
        {
            byte[] envelope = Envelope(jpeg, random, out string boundary);
            var content = new ByteArrayContent(envelope);
            content.Headers.TryAddWithoutValidation("Content-Type",
                random.Next(10) == 0 ? "multipart/form-data" : $"multipart/form-data; boundary={boundary}");
            var response = await PostWithinDeadlineAsync(client, content, i);
            statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
            if (response.StatusCode == HttpStatusCode.RequestEntityTooLarge)
            {
                Assert.True(envelope.Length > 20 * 1024 * 1024, $"case {i}: 413 for a {envelope.Length}-byte body");
            }
        }
        output.WriteLine($"{Cases} mutated envelopes: {Counts(statuses)}; slowest {slowest.TotalMilliseconds:0} ms");
    }

    /// <summary>A client whose server has answered once, so that start-up and warm-up are not charged to the first case.</summary>
    private async Task<HttpClient> WarmClientAsync()
    {
        var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/predict", Uploads.Form(Uploads.PublicJpeg()))).StatusCode);
        return client;
    }

    private async Task<HttpResponseMessage> PostWithinDeadlineAsync(HttpClient client, HttpContent content, int caseNumber)
    {
        var (response, elapsed) = await TimedPostAsync(client, content, caseNumber);
        if (elapsed >= Deadline)
        {
            // A stall of the whole machine (CI runs test projects side by side; a case that takes 0.2 s alone took 3.8 s there)
            // passes on a second try; a decoder that spins on these bytes is slow both times.
            (response, var retried) = await TimedPostAsync(client, content, caseNumber);
            Assert.True(retried < Deadline,
                $"case {caseNumber}: answered {response.StatusCode} after {elapsed.TotalSeconds:0.00} s, " +
                $"and again after {retried.TotalSeconds:0.00} s");
            elapsed = retried;
        }
        slowest = elapsed > slowest ? elapsed : slowest;
        return response;
    }

    /// <summary>Each status answered and how often, for the log.</summary>
    private static string Counts(Dictionary<HttpStatusCode, int> statuses) =>
        string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{(int)s.Key} x {s.Value}"));

    private static async Task<(HttpResponseMessage Response, TimeSpan Elapsed)> TimedPostAsync(HttpClient client, HttpContent content,
        int caseNumber)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var response = await client.PostAsync("/predict", content);
        string body = await response.Content.ReadAsStringAsync();
        var elapsed = clock.Elapsed;
        Assert.True((int)response.StatusCode < 500, $"case {caseNumber}: {response.StatusCode} {body}");
        return (response, elapsed);
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
        text.Append($"--{boundary}{newline}Content-Disposition: form-data; name=\"{(random.Next(8) == 0 ? "other" : "image")}\"; " +
                    $"filename=\"{fileName}\"{newline}");
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
