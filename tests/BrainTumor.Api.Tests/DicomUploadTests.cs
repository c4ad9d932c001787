using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BrainTumor.Tests;

namespace BrainTumor.Api.Tests;

/// <summary>
/// Real dataset slices wrapped as DICOM by Debian's dcmtk (img2dcm, then dcmdjpeg, dcmcrle and dcmconv for the other
/// encodings), made here in a temporary folder, never committed: each must get the answer the JPEG itself gets.
/// </summary>
public sealed class DicomUploadTests(BrainTumorApiFactory factory) : IClassFixture<BrainTumorApiFactory>, IDisposable
{
    private readonly HttpClient client = factory.CreateClient();
    private readonly string folder = Directory.CreateTempSubdirectory("braintumor-dicom-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private async Task<string> DcmtkAsync(string tool, params string[] arguments)
    {
        var result = await DotnetProcess.RunProgramAsync($"/usr/bin/{tool}", folder, null, arguments);
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', arguments)}: {result.Output}{result.Error} (install Debian's dcmtk)");
        return Path.Combine(folder, arguments[^1]);
    }

    private async Task<JsonElement> PredictAsync(byte[] bytes, string contentType)
    {
        var response = await client.PostAsync("/predict", Uploads.Raw(bytes, contentType));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    [Theory]
    [InlineData("glioma_tumor", 0)]
    [InlineData("no_tumor", 5)]
    public async Task ASliceWrappedAsDicomInEveryEncodingGetsTheSliceOwnAnswer(string label, int index)
    {
        string jpeg = Path.Combine(folder, "slice.jpg");
        File.Copy(RepositoryPaths.DatasetImage(label, index), jpeg);
        var expected = await PredictAsync(File.ReadAllBytes(jpeg), "image/jpeg");

        string baseline = await DcmtkAsync("img2dcm", "slice.jpg", "baseline.dcm");
        string native = await DcmtkAsync("dcmdjpeg", "baseline.dcm", "native.dcm");
        string[] encodings =
        [
            baseline,
            native,
            await DcmtkAsync("dcmcrle", "native.dcm", "rle.dcm"),
            await DcmtkAsync("dcmconv", "+tb", "native.dcm", "big-endian.dcm"),
            await DcmtkAsync("dcmconv", "+ti", "native.dcm", "implicit.dcm"),
            await DcmtkAsync("dcmconv", "+td", "native.dcm", "deflated.dcm"),
        ];

        foreach (string file in encodings)
        {
            var answer = await PredictAsync(File.ReadAllBytes(file), "application/dicom");
            Assert.Equal(expected.GetProperty("label").GetString(), answer.GetProperty("label").GetString());
            foreach (var probability in expected.GetProperty("probabilities").EnumerateObject())
            {
                double ours = answer.GetProperty("probabilities").GetProperty(probability.Name).GetDouble();
                Assert.True(Math.Abs(ours - probability.Value.GetDouble()) < 1e-4,
                    $"{Path.GetFileName(file)}: {probability.Name} {ours} against the JPEG's {probability.Value.GetDouble()}");
            }
        }
    }

    [Fact]
    public async Task AnUnsupportedTransferSyntaxIs415NamingIt()
    {
        byte[] jpeg2000 = File.ReadAllBytes("/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small_jp2klossless.dcm");

        var response = await client.PostAsync("/predict", Uploads.Form(jpeg2000, fileName: "slice.dcm", contentType: "application/dicom"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("1.2.840.10008.1.2.4.90", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ATruncatedDicomFileIs400()
    {
        byte[] truncated = File.ReadAllBytes("/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_truncated.dcm");

        var response = await client.PostAsync("/predict", Uploads.Raw(truncated, "application/dicom"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("truncated", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }
}
