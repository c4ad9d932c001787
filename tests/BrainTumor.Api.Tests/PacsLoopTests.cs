using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using BrainTumor.Imaging.Dicom;
using BrainTumor.LoadTests;
using BrainTumor.Tests;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace BrainTumor.Api.Tests;

/// <summary>
/// The service listening on a real loopback port (Kestrel), its results going to a real Orthanc, and Orthanc pushing to it: one of each
/// for the whole class, whose tests run one after the other (one stops and restarts Orthanc).
/// </summary>
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "xunit disposes a fixture through IAsyncLifetime.DisposeAsync, which disposes the factory.")]
public sealed class PacsLoop : IAsyncLifetime
{
    private WebApplicationFactory<Program>? service;
    private readonly BrainTumorApiFactory factory = new();

    public OrthancServer Orthanc { get; private set; } = null!;
    public HttpClient Service { get; private set; } = null!;
    public IServiceProvider Services => service!.Services;
    public string Folder { get; } = Directory.CreateTempSubdirectory("braintumor-pacs-").FullName;

    public async Task InitializeAsync()
    {
        int port = ServerProcess.FreePort();
        Orthanc = await OrthancServer.StartAsync(new Uri($"http://127.0.0.1:{port}/dicomweb/"));
        // Short delays, so that an outage of a second or two is bridged within the test's deadline.
        service = factory.With(("Urls", $"http://127.0.0.1:{port}"), ("DicomWeb:ResultsUrl", Orthanc.DicomWebUrl),
            ("DicomWeb:FirstRetryDelaySeconds", "0.2"), ("DicomWeb:MaxRetryAttempts", "2"), ("DicomWeb:RetryRoundDelaySeconds", "0.5"),
            ("DicomWeb:AttemptTimeoutSeconds", "5"));
        service.UseKestrel();
        service.StartServer();
        Service = service.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await BrainTumorApiFactory.WaitUntilReadyAsync(Service)).StatusCode);
    }

    public async Task DisposeAsync()
    {
        Service.Dispose();
        if (service is not null)
        {
            await service.DisposeAsync();
        }
        await factory.DisposeAsync();
        await Orthanc.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }

    /// <summary>A dataset slice wrapped by dcmtk's img2dcm as an MR instance of a new study (made here, never committed).</summary>
    public async Task<byte[]> WrappedSliceAsync(string label, int index)
    {
        string name = $"{label}-{index}";
        File.Copy(RepositoryPaths.DatasetImage(label, index), Path.Combine(Folder, $"{name}.jpg"), overwrite: true);
        var wrap = await DotnetProcess.RunProgramAsync("/usr/bin/img2dcm", Folder, null, "-k", "Modality=MR", $"{name}.jpg", $"{name}.dcm");
        Assert.True(wrap.ExitCode == 0, wrap.Output + wrap.Error);
        return File.ReadAllBytes(Path.Combine(Folder, $"{name}.dcm"));
    }
}

/// <summary>
/// The PACS loop against Debian's Orthanc: an MR slice stored in Orthanc is pushed to the service by STOW-RS, and the SR and the
/// Secondary Capture come back into its study; a CT instance is refused and nothing is stored for it; an outage of Orthanc delays the
/// results but does not lose them.
/// </summary>
[Trait("Category", "Slow")]
public sealed class PacsLoopTests(PacsLoop loop, ITestOutputHelper output) : IClassFixture<PacsLoop>
{
    private static readonly TimeSpan ResultDeadline = TimeSpan.FromSeconds(60);
    private readonly Stopwatch clock = Stopwatch.StartNew();

    /// <summary>Polls QIDO-RS until the study holds an SR and a Secondary Capture, and returns the SR's SOP Instance UID.</summary>
    private async Task<string> ResultsInStudyAsync(string studyUid)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var classes = (await loop.Orthanc.StudyInstancesAsync(studyUid))
                .Select(i => (Class: i.GetProperty("00080016").GetProperty("Value")[0].GetString(),
                    Uid: i.GetProperty("00080018").GetProperty("Value")[0].GetString()))
                .ToList();
            if (classes.Any(i => i.Class == SecondaryCapture.SopClassUid)
                && classes.FirstOrDefault(i => i.Class == StructuredReport.SopClassUid).Uid is { } sr)
            {
                return sr;
            }
            Assert.True(deadline.Elapsed < ResultDeadline,
                $"No SR and Secondary Capture in study {studyUid} after {ResultDeadline.TotalSeconds} s.");
            await Task.Delay(200);
        }
    }

    /// <summary>The SR, read by pydicom, against /predict's answer for the same file.</summary>
    private async Task AssertReportMatchesPredictAsync(byte[] source, string srUid)
    {
        string srPath = Path.Combine(loop.Folder, $"{srUid}.dcm");
        await File.WriteAllBytesAsync(srPath, await loop.Orthanc.FileAsync(srUid));
        var read = await DotnetProcess.RunProgramAsync("/usr/bin/python3", null, null,
            Path.Combine(AppContext.BaseDirectory, "read_structured_report.py"), srPath);
        Assert.True(read.ExitCode == 0, read.Error);
        var sr = JsonDocument.Parse(read.Output).RootElement;
        var predict = await loop.Service.PostAsync("/predict", Uploads.Raw(source, "application/dicom"));
        var expected = JsonDocument.Parse(await predict.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(StructuredReport.FindingCode(expected.GetProperty("label").GetString()!).Value,
            sr.GetProperty("finding").GetProperty("code").GetString());
        foreach (var probability in expected.GetProperty("probabilities").EnumerateObject())
        {
            double written = sr.GetProperty("probabilities").GetProperty(StructuredReport.FindingCode(probability.Name).Value).GetDouble();
            Assert.True(Math.Abs(written - probability.Value.GetDouble()) < 1e-4,
                $"{probability.Name}: SR {written}, /predict {probability.Value.GetDouble()}");
        }
        Assert.Equal(DicomDataset.Parse(source).String(0x00080018), sr.GetProperty("sourceSopInstance").GetString());
        var dump = await DotnetProcess.RunProgramAsync("/usr/bin/dsrdump", null, null, srPath);
        Assert.True(dump.ExitCode == 0 && !dump.Error.Contains("E: "), dump.Error);
    }

    [Fact]
    public async Task SlicesOrthancPushesComeBackAsAnSrAndASecondaryCaptureInTheirStudiesThatAgreeWithPredict()
    {
        byte[] wrapped = await loop.WrappedSliceAsync("glioma_tumor", 3);
        byte[] mrSmall = File.ReadAllBytes(RepositoryPaths.PydicomFile("MR_small.dcm"));
        string[] ids = [await loop.Orthanc.UploadAsync(wrapped), await loop.Orthanc.UploadAsync(mrSmall)];

        var push = await loop.Orthanc.PushAsync(ids);

        Assert.True(push.IsSuccessStatusCode, await push.Content.ReadAsStringAsync() + loop.Orthanc.Errors);
        foreach (byte[] source in new[] { wrapped, mrSmall })
        {
            string sr = await ResultsInStudyAsync(DicomDataset.Parse(source).String(0x0020000D)!);
            await AssertReportMatchesPredictAsync(source, sr);
        }
        output.WriteLine($"took {clock.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task ACtInstanceFailsWithItsReasonAndNothingIsStoredInItsStudy()
    {
        byte[] ct = File.ReadAllBytes(RepositoryPaths.PydicomFile("CT_small.dcm"));
        byte[] mr = await loop.WrappedSliceAsync("no_tumor", 5);
        string ctStudy = DicomDataset.Parse(ct).String(0x0020000D)!;

        var response = await loop.Service.PostAsync("/dicomweb/studies", Stow.Request(ct, mr));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal([(DicomDataset.Parse(ct).String(0x00080018), 0x0122)], Stow.Items(answer, "00081198"));
        // Results are stored in order: once the MR's are in, anything made for the CT before it would be too.
        await ResultsInStudyAsync(DicomDataset.Parse(mr).String(0x0020000D)!);
        Assert.Empty(await loop.Orthanc.StudyInstancesAsync(ctStudy));
        // Orthanc's own push of the CT fails, since the service lists it as failed.
        Assert.False((await loop.Orthanc.PushAsync(await loop.Orthanc.UploadAsync(ct))).IsSuccessStatusCode);
        output.WriteLine($"took {clock.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task ResultsMadeWhileOrthancIsDownAreStoredOnceItIsBack()
    {
        byte[] mr = await loop.WrappedSliceAsync("meningioma_tumor", 2);
        // This service's own failure counter, through a listener: /metrics would also mix in the other test servers in this process.
        var meters = loop.Services.GetRequiredService<IMeterFactory>();
        long failures = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, listening) =>
            {
                if (instrument.Name == "braintumor.results.store_failures" && instrument.Meter.Scope == meters)
                {
                    listening.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref failures, value));
        listener.Start();
        await loop.Orthanc.StopAsync();
        try
        {
            var response = await loop.Service.PostAsync("/dicomweb/studies", Stow.Request(mr));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var deadline = Stopwatch.StartNew();
            while (Interlocked.Read(ref failures) == 0)
            {
                Assert.True(deadline.Elapsed < ResultDeadline, "No failed store was counted while Orthanc was down.");
                await Task.Delay(100);
            }
        }
        finally
        {
            await loop.Orthanc.RunAsync();
        }

        string sr = await ResultsInStudyAsync(DicomDataset.Parse(mr).String(0x0020000D)!);
        await AssertReportMatchesPredictAsync(mr, sr);
        output.WriteLine($"took {clock.Elapsed.TotalSeconds:0.0} s");
    }
}
