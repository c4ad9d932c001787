using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Tests;

namespace BrainTumor.Api.Tests;

/// <summary>STOW-RS requests as a PACS sends them.</summary>
public static class Stow
{
    public static MultipartContent Request(params byte[][] instances)
    {
        var content = new MultipartContent("related");
        content.Headers.ContentType!.Parameters.Add(new NameValueHeaderValue("type", "\"application/dicom\""));
        foreach (byte[] instance in instances)
        {
            var part = new ByteArrayContent(instance);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/dicom");
            content.Add(part);
        }
        return content;
    }

    /// <summary>
    /// The SOP Instance UIDs of a sequence of the answer (0008,1199 or 0008,1198) with their failure reasons (null when accepted).
    /// </summary>
    public static List<(string? SopInstance, int? Reason)> Items(JsonElement answer, string tag) =>
        answer.TryGetProperty(tag, out var sequence) && sequence.TryGetProperty("Value", out var items)
            ? items.EnumerateArray().Select(item => (
                item.TryGetProperty("00081155", out var uid) ? uid.GetProperty("Value")[0].GetString() : null,
                item.TryGetProperty("00081197", out var reason) ? (int?)reason.GetProperty("Value")[0].GetInt32() : null)).ToList()
            : [];
}

/// <summary>The STOW-RS endpoint in process: what it accepts, what it refuses and how it answers.</summary>
[Collection(DefaultServerCollection.Name)]
public sealed class DicomWebTests(BrainTumorApiFactory factory)
{
    private readonly HttpClient client = factory.CreateClient();
    private static readonly byte[] MrSmall = File.ReadAllBytes(RepositoryPaths.PydicomFile("MR_small.dcm"));
    private static readonly byte[] CtSmall = File.ReadAllBytes(RepositoryPaths.PydicomFile("CT_small.dcm"));

    [Fact]
    public async Task AnMrAndACtInstanceAreAnswered202WithTheMrReferencedAndTheCtFailedAsNotSupported()
    {
        var response = await client.PostAsync("/dicomweb/studies", Stow.Request(MrSmall, CtSmall));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("application/dicom+json", response.Content.Headers.ContentType?.MediaType);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("SQ", answer.GetProperty("00081199").GetProperty("vr").GetString());
        Assert.Equal([(DicomDataset.Parse(MrSmall).String(0x00080018), null)], Stow.Items(answer, "00081199"));
        Assert.Equal([(DicomDataset.Parse(CtSmall).String(0x00080018), 0x0122)], Stow.Items(answer, "00081198"));
    }

    [Fact]
    public async Task OnlyMrInstancesAreAnswered200WithNoFailedSequence()
    {
        var response = await client.PostAsync("/dicomweb/studies", Stow.Request(MrSmall));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Single(Stow.Items(answer, "00081199"));
        Assert.False(answer.TryGetProperty("00081198", out _));
    }

    [Fact]
    public async Task APartThatIsNotDicomAndOneInAnUnsupportedTransferSyntaxFailWithTheirReasons()
    {
        byte[] jpeg2000 = File.ReadAllBytes(RepositoryPaths.PydicomFile("MR_small_jp2klossless.dcm"));

        var response = await client.PostAsync("/dicomweb/studies", Stow.Request("not dicom"u8.ToArray(), jpeg2000));

        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal([0xC000, 0xC122], Stow.Items(answer, "00081198").Select(i => i.Reason));
    }

    [Fact]
    public async Task ARequestThatIsNotMultipartRelatedOfDicomIsA415Problem()
    {
        var wrongType = Stow.Request(MrSmall);
        wrongType.Headers.ContentType!.Parameters.Single(p => p.Name == "type").Value = "\"application/json\"";

        var raw = await client.PostAsync("/dicomweb/studies", Uploads.Raw(MrSmall, "application/dicom"));
        var notDicom = await client.PostAsync("/dicomweb/studies", wrongType);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, raw.StatusCode);
        Assert.Equal("application/problem+json", raw.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notDicom.StatusCode);
        Assert.Equal("Not a STOW-RS request",
            JsonDocument.Parse(await notDicom.Content.ReadAsStringAsync()).RootElement.GetProperty("title").GetString());
    }

    [Fact]
    public async Task TheApiKeyIsAskedForAsOnPredict()
    {
        using var secured = factory.ClientWith(("Security:ApiKey", "secret"));

        var response = await secured.PostAsync("/dicomweb/studies", Stow.Request(MrSmall));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
