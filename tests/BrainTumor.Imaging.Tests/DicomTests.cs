using System.Text.Json;
using BrainTumor.Imaging;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Tests;

namespace BrainTumor.Imaging.Tests;

/// <summary>
/// Our DICOM reader against files no one here wrote: the test corpus of Debian's python3-pydicom, decoded by pydicom
/// itself (pydicom_pixels.py) for comparison.
/// </summary>
public sealed class DicomTests
{
    private static string Corpus => RepositoryPaths.PydicomCorpus;

    private static string File(string name) => RepositoryPaths.PydicomFile(name);

    private static async Task<(int[] Shape, double[] Values)> PydicomAsync(string name, int frame)
    {
        Assert.True(Directory.Exists(Corpus), $"No pydicom test corpus at {Corpus}: install Debian's python3-pydicom.");
        var result = await DotnetProcess.RunProgramAsync("/usr/bin/python3", null, null,
            Path.Combine(AppContext.BaseDirectory, "pydicom_pixels.py"), File(name), frame.ToString());
        Assert.True(result.ExitCode == 0, result.Error);
        var json = JsonDocument.Parse(result.Output).RootElement;
        return (json.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray(),
            json.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray());
    }

    // Runs pydicom or dcmtk, or thousands of cases: kept out of the fast loop.
    [Trait("Category", "Slow")]
    [Theory]
    [InlineData("MR_small.dcm", 1)]
    [InlineData("MR_small_implicit.dcm", 1)]
    [InlineData("MR_small_bigendian.dcm", 1)]
    [InlineData("MR_small_expb.dcm", 1)]
    [InlineData("MR_small_padded.dcm", 1)]
    [InlineData("MR_small_RLE.dcm", 1)]
    [InlineData("CT_small.dcm", 1)]
    [InlineData("image_dfl.dcm", 1)]
    public async Task MonochromeModalityValuesEqualPydicoms(string name, int frame)
    {
        var (shape, expected) = await PydicomAsync(name, frame);

        double[] ours = DicomImage.ModalityValues(System.IO.File.ReadAllBytes(File(name)), frame);

        Assert.Equal(shape.Aggregate(1, (a, b) => a * b), ours.Length);
        for (int i = 0; i < ours.Length; i++)
        {
            Assert.True(Math.Abs(ours[i] - expected[i]) < 1e-6, $"{name}: pixel {i} is {ours[i]}, pydicom says {expected[i]}");
        }
    }

    // Runs pydicom or dcmtk, or thousands of cases: kept out of the fast loop.
    [Trait("Category", "Slow")]
    [Theory]
    [InlineData("SC_rgb_jpeg_dcmd.dcm", 1, 0)]
    [InlineData("ExplVR_BigEnd.dcm", 1, 0)]
    [InlineData("SC_ybr_full_422_uncompressed.dcm", 1, 1)]
    [InlineData("SC_rgb_rle.dcm", 1, 0)]
    [InlineData("SC_rgb_rle_2frame.dcm", 2, 0)]
    [InlineData("SC_rgb_small_odd.dcm", 1, 0)]
    public async Task ColourSamplesEqualPydicomsWithinRounding(string name, int frame, int tolerance)
    {
        var (shape, expected) = await PydicomAsync(name, frame);

        var (bitmap, info) = DicomImage.Decode(System.IO.File.ReadAllBytes(File(name)), new DicomReadOptions(frame));
        using (bitmap)
        {
            Assert.Equal([bitmap.Height, bitmap.Width, 3], shape);
            Assert.Equal(frame, info.Frame);
            var rgba = bitmap.GetPixelSpan();
            for (int p = 0; p < bitmap.Width * bitmap.Height; p++)
            {
                for (int channel = 0; channel < 3; channel++)
                {
                    double difference = Math.Abs(rgba[4 * p + channel] - expected[3 * p + channel]);
                    Assert.True(difference <= tolerance,
                        $"{name}: pixel {p} channel {channel} is {rgba[4 * p + channel]}, pydicom says {expected[3 * p + channel]}");
                }
            }
        }
    }

    [Theory]
    [InlineData("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90", "JPEG 2000")]
    [InlineData("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80", "JPEG-LS")]
    [InlineData("SC_rgb_jpeg_gdcm.dcm", "1.2.840.10008.1.2.4.70", "JPEG Lossless")]
    [InlineData("693_J2KI.dcm", "1.2.840.10008.1.2.4.91", "JPEG 2000")]
    public void AnUnsupportedTransferSyntaxIsRefusedByUidAndName(string name, string uid, string syntaxName)
    {
        var refusal = Assert.Throws<ImageDecodeException>(() => DicomImage.Decode(System.IO.File.ReadAllBytes(File(name))));

        Assert.Equal(ImageProblem.UnsupportedFormat, refusal.Problem);
        Assert.Contains(uid, refusal.Message);
        Assert.Contains(syntaxName, refusal.Message);
    }

    [Theory]
    [InlineData("MR_truncated.dcm", ImageProblem.Corrupt, "truncated")]
    [InlineData("no_meta.dcm", ImageProblem.Corrupt, "no DICOM Part 10 preamble")]
    [InlineData("JPEG-lossy.dcm", ImageProblem.UnsupportedFormat, "12-bit")]
    [InlineData("rtdose.dcm", ImageProblem.UnsupportedFormat, "32 bits allocated")]
    [InlineData("liver_1frame.dcm", ImageProblem.UnsupportedFormat, "1 bits allocated")]
    [InlineData("rtplan.dcm", ImageProblem.UnsupportedFormat, "no pixel data")]
    public void AFileThatCannotBeAnsweredGetsItsSpecificRefusal(string name, ImageProblem problem, string reason)
    {
        var refusal = Assert.Throws<ImageDecodeException>(() => DicomImage.Decode(System.IO.File.ReadAllBytes(File(name))));

        Assert.Equal(problem, refusal.Problem);
        Assert.Contains(reason, refusal.Message);
    }

    /// <summary>
    /// Every file of the corpus gets an image or a specific refusal, and the committed conformance table
    /// (reports/dicom-conformance.md) says which; <c>BRAINTUMOR_UPDATE_CONFORMANCE=1</c> rewrites it after a change.
    /// </summary>
    [Fact]
    public void EveryFileInTheCorpusGetsAnImageOrASpecificRefusalAsTheConformanceTableSays()
    {
        var table = new System.Text.StringBuilder();
        table.AppendLine("# DICOM conformance on pydicom's test files");
        table.AppendLine();
        table.AppendLine(
            "Every `.dcm` file shipped with Debian 12's `python3-pydicom` (2.3.1), read by `DicomImage.Decode` with the default");
        table.AppendLine("limits. Written by `DicomTests` " +
            "(`BRAINTUMOR_UPDATE_CONFORMANCE=1 dotnet test tests/BrainTumor.Imaging.Tests --filter Conformance`),");
        table.AppendLine("which fails when the reader's behaviour and this table differ.");
        table.AppendLine();
        table.AppendLine("| file | transfer syntax | result |");
        table.AppendLine("| --- | --- | --- |");
        foreach (string path in Directory.EnumerateFiles(Corpus, "*.dcm").Order(StringComparer.Ordinal))
        {
            byte[] bytes = System.IO.File.ReadAllBytes(path);
            string syntax = "-";
            string result;
            try
            {
                var (bitmap, info) = DicomImage.Decode(bytes);
                using (bitmap)
                {
                    syntax = $"{info.TransferSyntax} ({info.TransferSyntaxUid})";
                    string window = info.Window is { } w ? $", window {w.Center:0.##}/{w.Width:0.##} ({w.Source})" : "";
                    result = $"image {bitmap.Width}x{bitmap.Height}, {info.Photometric}, frame {info.Frame} of {info.Frames}{window}";
                }
            }
            catch (ImageDecodeException refusal)
            {
                Assert.False(string.IsNullOrWhiteSpace(refusal.Message));
                result = $"refused ({refusal.Problem}): {refusal.Message}";
                syntax = SyntaxOf(bytes);
            }
            table.AppendLine($"| `{Path.GetFileName(path)}` | {syntax} | {result.Replace("|", "\\|")} |");
        }

        string committed = Path.Combine(RepositoryPaths.Root, "reports", "dicom-conformance.md");
        if (Environment.GetEnvironmentVariable("BRAINTUMOR_UPDATE_CONFORMANCE") == "1")
        {
            System.IO.File.WriteAllText(committed, table.ToString());
        }
        Assert.Equal(System.IO.File.ReadAllText(committed), table.ToString());
    }

    /// <summary>The transfer syntax a refused file names in its meta information, when it gets that far.</summary>
    private static string SyntaxOf(byte[] bytes)
    {
        try
        {
            var dataset = DicomDataset.Parse(bytes);
            return $"{dataset.Syntax.Name} ({dataset.Syntax.Uid})";
        }
        catch (ImageDecodeException refusal) when (refusal.Message.Contains("transfer syntax", StringComparison.Ordinal))
        {
            return refusal.Message.Split(' ')[3];
        }
        catch (ImageDecodeException)
        {
            return "-";
        }
    }

    /// <summary>Seeded mutations of the corpus: the reader answers with an image or an <see cref="ImageDecodeException"/>, nothing
    /// else.</summary>
    // Runs pydicom or dcmtk, or thousands of cases: kept out of the fast loop.
    [Trait("Category", "Slow")]
    [Fact]
    public void MutatedFilesGiveAnImageOrADecodeErrorAndNothingElse()
    {
        string[] seeds = ["MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm", "CT_small.dcm",
            "image_dfl.dcm", "SC_rgb_rle_2frame.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_ybr_full_422_uncompressed.dcm", "ExplVR_BigEnd.dcm"];
        var files = seeds.Select(name => System.IO.File.ReadAllBytes(File(name))).ToArray();
        var random = new Random(2026);
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = [.. files[i % files.Length]];
            for (int flips = random.Next(1, 6); flips > 0; flips--)
            {
                bytes[random.Next(132, Math.Min(bytes.Length, random.Next(2) == 0 ? 2048 : bytes.Length))] = (byte)random.Next(256);
            }
            if (random.Next(4) == 0)
            {
                bytes = bytes[..random.Next(133, bytes.Length)];
            }
            try
            {
                DicomImage.Decode(bytes).Bitmap.Dispose();
            }
            catch (ImageDecodeException)
            {
            }
            catch (Exception unexpected)
            {
                Assert.Fail($"case {i} (from {seeds[i % seeds.Length]}): {unexpected}");
            }
        }
    }

    /// <summary>Our VOI windowing against dcmtk's dcm2pnm rendering the same file with the same window (+Wi: the file's, +Ww:
    /// given).</summary>
    // Runs pydicom or dcmtk, or thousands of cases: kept out of the fast loop.
    [Trait("Category", "Slow")]
    [Theory]
    [InlineData("MR_small.dcm", null)]
    [InlineData("MR_small_bigendian.dcm", null)]
    [InlineData("MR_small.dcm", "500,200")]
    [InlineData("CT_small.dcm", "40,400")]
    [InlineData("CT_small.dcm", "-600,1500")]
    public async Task WindowedGreyLevelsMatchDcmtksWithinOneLevel(string name, string? window)
    {
        string png = Path.Combine(Path.GetTempPath(), $"braintumor-dcm2pnm-{Guid.NewGuid():N}.png");
        try
        {
            string[] windowArguments = window is null ? ["+Wi", "1"] : ["+Ww", .. window.Split(',')];
            var rendered = await DotnetProcess.RunProgramAsync("/usr/bin/dcm2pnm", null, null,
                [.. windowArguments, "+on", File(name), png]);
            Assert.True(rendered.ExitCode == 0, $"dcm2pnm: {rendered.Error} (install Debian's dcmtk)");
            (double, double)? requested = window is null ? null
                : (double.Parse(window.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture),
                   double.Parse(window.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture));

            var (ours, _) = DicomImage.Decode(System.IO.File.ReadAllBytes(File(name)), new DicomReadOptions(Window: requested));
            using (ours)
            using (var theirs = SkiaSharp.SKBitmap.Decode(png))
            {
                Assert.Equal((theirs.Width, theirs.Height), (ours.Width, ours.Height));
                int worst = 0;
                for (int y = 0; y < ours.Height; y++)
                {
                    for (int x = 0; x < ours.Width; x++)
                    {
                        worst = Math.Max(worst, Math.Abs(ours.GetPixel(x, y).Red - theirs.GetPixel(x, y).Red));
                    }
                }
                Assert.True(worst <= 1, $"{name} window {window ?? "from the file"}: grey levels differ by up to {worst}");
            }
        }
        finally
        {
            System.IO.File.Delete(png);
        }
    }

    [Fact]
    public void TheFilesWindowIsUsedAndReported()
    {
        var (bitmap, info) = DicomImage.Decode(System.IO.File.ReadAllBytes(File("MR_small.dcm")));
        bitmap.Dispose();

        Assert.Equal(new DicomWindow(600, 1600, "LINEAR", "file"), info.Window);
        Assert.Equal("1.2.840.10008.1.2.1", info.TransferSyntaxUid);
        Assert.NotNull(info.SopInstanceUid);
    }

    [Fact]
    public void WithoutAWindowTheFirstToNinetyNinthPercentileIsUsed()
    {
        byte[] file = System.IO.File.ReadAllBytes(File("CT_small.dcm"));
        var (bitmap, info) = DicomImage.Decode(file);
        bitmap.Dispose();

        var sorted = DicomImage.ModalityValues(file).Order().ToArray();
        double low = sorted[(int)(0.01 * (sorted.Length - 1))], high = sorted[(int)(0.99 * (sorted.Length - 1))];
        Assert.Equal(new DicomWindow((low + high) / 2, high - low, "LINEAR_EXACT", "percentile"), info.Window);
    }

    [Fact]
    public void ARequestedWindowOverridesTheFilesAndChangesTheGreyLevels()
    {
        byte[] file = System.IO.File.ReadAllBytes(File("MR_small.dcm"));
        var (own, ownInfo) = DicomImage.Decode(file);
        var (narrow, narrowInfo) = DicomImage.Decode(file, new DicomReadOptions(Window: (600, 100)));
        using (own)
        using (narrow)
        {
            Assert.Equal("request", narrowInfo.Window!.Source);
            Assert.NotEqual(ownInfo.Window, narrowInfo.Window);
            Assert.False(own.GetPixelSpan().SequenceEqual(narrow.GetPixelSpan()));
            // Below center - width/2 is black, above center + width/2 white (PS3.3 C.11.2.1.2).
            double[] values = DicomImage.ModalityValues(file);
            int dark = Array.FindIndex(values, v => v < 540), bright = Array.FindIndex(values, v => v > 660);
            Assert.Equal(0, narrow.GetPixelSpan()[4 * dark]);
            Assert.Equal(255, narrow.GetPixelSpan()[4 * bright]);
        }
    }

    [Fact]
    public void ImageLoaderReadsADicomFileLikeAnyOtherImage()
    {
        using var bitmap = ImageLoader.Decode(System.IO.File.ReadAllBytes(File("MR_small.dcm")), ImageLimits.Classification);

        Assert.Equal((64, 64), (bitmap.Width, bitmap.Height));
        Assert.True(ImageLoader.IsImageFile("slice.dcm"));
    }
}
