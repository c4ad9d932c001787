using System.Text.Json;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Tests;

namespace BrainTumor.Api.Tests;

/// <summary>The Comprehensive SR as two independent readers see it: dcmtk's dsrdump (which checks the SR's structure) and
/// pydicom.</summary>
public sealed class StructuredReportTests : IDisposable
{
    private static readonly string MrSmall = RepositoryPaths.PydicomFile("MR_small.dcm");
    private readonly string folder = Directory.CreateTempSubdirectory("braintumor-sr-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static readonly ClassificationFindings Findings = new("lite-cnn", "2026.12.01-e26", "meningioma_tumor",
        [new("glioma_tumor", 0.1234567f), new("meningioma_tumor", 0.75f), new("no_tumor", 0.0000123f), new("pituitary_tumor", 0.1265310f)],
        InDistribution: true);

    private string Write(ClassificationFindings findings)
    {
        string path = Path.Combine(folder, $"{Guid.NewGuid():N}.dcm");
        File.WriteAllBytes(path, StructuredReport.Create(File.ReadAllBytes(MrSmall), findings, new DateTime(2026, 12, 5, 10, 30, 0)));
        return path;
    }

    [Fact]
    public async Task DsrdumpReadsTheReportWithoutAnError()
    {
        string report = Write(Findings);

        var dump = await DotnetProcess.RunProgramAsync("/usr/bin/dsrdump", folder, null, report);

        Assert.True(dump.ExitCode == 0, dump.Output + dump.Error);
        Assert.DoesNotContain("E: ", dump.Error);
        Assert.DoesNotContain("W: ", dump.Error);
        Assert.Contains("Comprehensive SR Document", dump.Output);
        Assert.Contains("Meningioma", dump.Output);
    }

    [Fact]
    public async Task PydicomReadsTheFindingEveryProbabilityAndTheSourceImage()
    {
        var source = DicomDataset.Parse(File.ReadAllBytes(MrSmall));

        var read = await DotnetProcess.RunProgramAsync("/usr/bin/python3", null, null,
            Path.Combine(AppContext.BaseDirectory, "read_structured_report.py"), Write(Findings));

        Assert.True(read.ExitCode == 0, read.Error);
        var sr = JsonDocument.Parse(read.Output).RootElement;
        Assert.Equal(StructuredReport.SopClassUid, sr.GetProperty("sopClass").GetString());
        Assert.Equal("SR", sr.GetProperty("modality").GetString());
        Assert.Equal(source.String(0x0020000D), sr.GetProperty("study").GetString());
        Assert.NotEqual(source.String(0x0020000E), sr.GetProperty("series").GetString());
        Assert.Equal(source.String(0x00080018), sr.GetProperty("sourceSopInstance").GetString());
        Assert.Equal(source.String(0x00080016), sr.GetProperty("sourceSopClass").GetString());
        Assert.Equal("1373614004", sr.GetProperty("finding").GetProperty("code").GetString());
        Assert.Equal("SCT", sr.GetProperty("finding").GetProperty("scheme").GetString());
        Assert.Equal("BrainTumor lite-cnn", sr.GetProperty("algorithmName").GetString());
        Assert.Equal("2026.12.01-e26", sr.GetProperty("algorithmVersion").GetString());
        Assert.Equal("373066001", sr.GetProperty("inDistribution").GetProperty("code").GetString());
        Assert.Contains("Research use only", sr.GetProperty("comment").GetString());
        Assert.Equal("1", sr.GetProperty("units").GetProperty("code").GetString());
        foreach (var (label, probability) in Findings.Probabilities)
        {
            double written = sr.GetProperty("probabilities").GetProperty(StructuredReport.FindingCode(label).Value).GetDouble();
            Assert.True(Math.Abs(written - probability) < 1e-7, $"{label}: {written} written for {probability}");
        }
        Assert.Equal(source.String(0x00100010), sr.GetProperty("patientName").GetString());
        Assert.All(sr.GetProperty("patientTags").EnumerateArray(),
            tag => Assert.Contains(tag.GetString(), new[] { "0010,0010", "0010,0020", "0010,0030", "0010,0040" }));
    }

    [Fact]
    public async Task AModelWithoutAGuardWritesNoInDistributionItem()
    {
        var read = await DotnetProcess.RunProgramAsync("/usr/bin/python3", null, null,
            Path.Combine(AppContext.BaseDirectory, "read_structured_report.py"),
            Write(Findings with { InDistribution = null, Label = "glioma_tumor" }));

        Assert.True(read.ExitCode == 0, read.Error);
        var sr = JsonDocument.Parse(read.Output).RootElement;
        Assert.False(sr.TryGetProperty("inDistribution", out _));
        Assert.Equal(StructuredReport.PrivateScheme, sr.GetProperty("finding").GetProperty("scheme").GetString());
    }
}
