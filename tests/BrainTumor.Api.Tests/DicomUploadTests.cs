using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BrainTumor.Tests;

namespace BrainTumor.Api.Tests;

/// <summary>
/// Real dataset slices wrapped as DICOM by Debian's dcmtk (img2dcm, then dcmdjpeg, dcmcrle and dcmconv for the other
/// encodings), made here in a temporary folder, never committed: each must get the answer the JPEG itself gets.
/// </summary>
[Trait("Category", "Slow")]
[Collection(DefaultServerCollection.Name)]
public sealed class DicomUploadTests(BrainTumorApiFactory factory) : IDisposable
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

    private async Task<JsonElement> PredictAsync(byte[] bytes, string contentType, HttpClient? server = null)
    {
        var response = await (server ?? client).PostAsync("/predict", Uploads.Raw(bytes, contentType));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    [DatasetTheory]
    [InlineData("glioma_tumor", 0)]
    [InlineData("no_tumor", 5)]
    public async Task ASliceWrappedAsDicomInEveryEncodingGetsTheSliceOwnAnswer(string label, int index)
    {
        string jpeg = Path.Combine(folder, "slice.jpg");
        File.Copy(RepositoryPaths.DatasetImage(label, index), jpeg);
        // A DICOM file is never decoded at a reduced scale, so the JPEG's answer to match is the one from its full-size decode.
        using var fullSize = factory.ClientWith(("ServerLimits:ScaledJpegDecoding", "false"));
        var expected = await PredictAsync(File.ReadAllBytes(jpeg), "image/jpeg", fullSize);

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
        byte[] jpeg2000 = File.ReadAllBytes(RepositoryPaths.PydicomFile("MR_small_jp2klossless.dcm"));

        var response = await client.PostAsync("/predict", Uploads.Form(jpeg2000, fileName: "slice.dcm", contentType: "application/dicom"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("1.2.840.10008.1.2.4.90",
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ATruncatedDicomFileIs400()
    {
        byte[] truncated = File.ReadAllBytes(RepositoryPaths.PydicomFile("MR_truncated.dcm"));

        var response = await client.PostAsync("/predict", Uploads.Raw(truncated, "application/dicom"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("truncated", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }
}

/// <summary>
/// What a DICOM answer says beside the label: how the image was rendered and how to link the answer back, and nothing about the
/// patient.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed class DicomAnswerTests(BrainTumorApiFactory factory) : IDisposable
{
    private static readonly string MrSmall = RepositoryPaths.PydicomFile("MR_small.dcm");
    private readonly HttpClient client = factory.CreateClient();
    private readonly string folder = Directory.CreateTempSubdirectory("braintumor-dicom-answer-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private async Task<(HttpStatusCode Status, JsonElement Body, string Text)> PredictAsync(byte[] file, string query = "")
    {
        var response = await client.PostAsync($"/predict{query}", Uploads.Raw(file, "application/dicom"));
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement, text);
    }

    [Fact]
    public async Task TheAnswerGivesTheUidsAndTheFilesWindowAndNoPatientAttribute()
    {
        byte[] file = File.ReadAllBytes(MrSmall);
        var dataset = BrainTumor.Imaging.Dicom.DicomDataset.Parse(file);

        var (status, body, text) = await PredictAsync(file);

        Assert.Equal(HttpStatusCode.OK, status);
        var dicom = body.GetProperty("dicom");
        Assert.Equal(dataset.String(0x00080018), dicom.GetProperty("sopInstanceUid").GetString());
        Assert.Equal(dataset.String(0x0020000E), dicom.GetProperty("seriesInstanceUid").GetString());
        Assert.Equal(dataset.String(0x0020000D), dicom.GetProperty("studyInstanceUid").GetString());
        Assert.Equal(600, dicom.GetProperty("window").GetProperty("center").GetDouble());
        Assert.Equal(1600, dicom.GetProperty("window").GetProperty("width").GetDouble());
        Assert.Equal("file", dicom.GetProperty("window").GetProperty("source").GetString());
        // Patient name and ID, birth date, institution (a study date is left out: UIDs often embed one).
        foreach (uint patientTag in new uint[] { 0x00100010, 0x00100020, 0x00100030, 0x00080080 })
        {
            if (dataset.String(patientTag) is string value)
            {
                Assert.DoesNotContain(value, text);
            }
        }
    }

    [Fact]
    public async Task AWindowInTheQueryIsUsedAndAFrameTheImageLacksIs400()
    {
        byte[] file = File.ReadAllBytes(MrSmall);

        var (_, windowed, _) = await PredictAsync(file, "?window=500,200");
        var (missingStatus, missing, _) = await PredictAsync(file, "?frame=2");
        var (badStatus, bad, _) = await PredictAsync(file, "?window=500");

        Assert.Equal("request", windowed.GetProperty("dicom").GetProperty("window").GetProperty("source").GetString());
        Assert.Equal(200, windowed.GetProperty("dicom").GetProperty("window").GetProperty("width").GetDouble());
        Assert.Equal(HttpStatusCode.BadRequest, missingStatus);
        Assert.Equal("Invalid frame", missing.GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, badStatus);
        Assert.Equal("Invalid window", bad.GetProperty("title").GetString());
    }

    [Fact]
    public async Task ASliceThatIsNotAxialIsAnsweredWithAWarning()
    {
        string sagittal = Path.Combine(folder, "sagittal.dcm");
        File.Copy(MrSmall, sagittal);
        // Rows along the patient's y axis, columns along -z: a sagittal plane.
        var modify = await DotnetProcess.RunProgramAsync("/usr/bin/dcmodify", folder, null, "-nb", "-m", @"(0020,0037)=0\1\0\0\0\-1",
            sagittal);
        Assert.True(modify.ExitCode == 0, modify.Error);

        var (status, body, _) = await PredictAsync(File.ReadAllBytes(sagittal));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("sagittal", body.GetProperty("dicom").GetProperty("warning").GetString());
        Assert.Equal(JsonValueKind.Null,
            (await PredictAsync(File.ReadAllBytes(MrSmall))).Body.GetProperty("dicom").GetProperty("warning").ValueKind);
    }

    [Fact]
    public async Task GradCamAsDicomIsASecondaryCaptureInANewSeriesOfTheSameStudyThatPydicomReads()
    {
        byte[] input = File.ReadAllBytes(MrSmall);
        var source = BrainTumor.Imaging.Dicom.DicomDataset.Parse(input);
        var request = new HttpRequestMessage(HttpMethod.Post, "/gradcam") { Content = Uploads.Raw(input, "application/dicom") };
        request.Headers.Accept.ParseAdd("application/dicom");

        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/dicom", response.Content.Headers.ContentType?.MediaType);
        string output = Path.Combine(folder, "explanation.dcm");
        await File.WriteAllBytesAsync(output, await response.Content.ReadAsByteArrayAsync());
        var read = await DotnetProcess.RunProgramAsync("/usr/bin/python3", null, null,
            Path.Combine(AppContext.BaseDirectory, "read_secondary_capture.py"), output);
        Assert.True(read.ExitCode == 0, read.Error);
        var sc = JsonDocument.Parse(read.Output).RootElement;

        Assert.Equal("1.2.840.10008.5.1.4.1.1.7", sc.GetProperty("sopClass").GetString());
        Assert.Equal(source.String(0x0020000D), sc.GetProperty("study").GetString());
        Assert.NotEqual(source.String(0x0020000E), sc.GetProperty("series").GetString());
        Assert.NotEqual(source.String(0x00080018), sc.GetProperty("sopInstance").GetString());
        Assert.Equal(source.String(0x00080018), sc.GetProperty("sourceSopInstance").GetString());
        Assert.Equal(source.String(0x00080016), sc.GetProperty("sourceSopClass").GetString());
        Assert.Contains("NOT FOR DIAGNOSTIC USE", sc.GetProperty("seriesDescription").GetString());
        Assert.Equal("YES", sc.GetProperty("burnedIn").GetString());
        string label = (await (await client.PostAsync("/predict", Uploads.Raw(input, "application/dicom")))
            .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("label").GetString()!;
        Assert.Contains(label, sc.GetProperty("comments").GetString());
        Assert.Equal(source.String(0x00100010), sc.GetProperty("patientName").GetString());
        // Only the Patient module's name, ID, birth date and sex are copied, whatever else the input carries about the patient.
        Assert.All(sc.GetProperty("patientTags").EnumerateArray(),
            tag => Assert.Contains(tag.GetString(), new[] { "0010,0010", "0010,0020", "0010,0030", "0010,0040" }));
        Assert.Equal(3, sc.GetProperty("shape")[2].GetInt32());
    }

    [Fact]
    public async Task DicomOutputForAnImageThatIsNotDicomIs400()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/gradcam") { Content = Uploads.Form(Uploads.PublicJpeg()) };
        request.Headers.Accept.ParseAdd("application/dicom");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("DICOM output needs a DICOM input",
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
    }
}
