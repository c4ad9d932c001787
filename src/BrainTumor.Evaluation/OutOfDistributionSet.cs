using BrainTumor.Imaging;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Imaging.Rendering;
using SkiaSharp;

namespace BrainTumor.Evaluation;

/// <summary>One image the out-of-distribution guard should flag, and the group it is reported in.</summary>
/// <param name="Modality">The DICOM Modality of an image read from a DICOM file, which the server checks as well.</param>
public sealed record OutOfDistributionImage(string Group, string Name, Func<SKBitmap> Load, string? Modality = null);

/// <summary>
/// The out-of-distribution evaluation set, built from material no one here wrote or chose by looking at the models:
/// the test files of Debian's <c>python3-pydicom</c> (non-brain DICOM images, rendered with their windows) and the
/// sample images of <c>python3-skimage</c>, synthetic images drawn from a seed, and the external labelled slices made
/// implausible. Nothing is downloaded or committed; a missing package leaves its groups out, and the report says so.
/// </summary>
public static class OutOfDistributionSet
{
    public const string NonBrainMedical = "non-brain medical";
    public const string Photographs = "photographs";
    public const string Synthetic = "synthetic";
    public const string ImplausibleSlices = "implausible slices";

    public const string PydicomFolder = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
    public const string SkimageFolder = "/usr/lib/python3/dist-packages/skimage/data";

    // Every non-brain image among pydicom's test files that this reader decodes (MR_small is a head, so it is left out;
    // the JPEG 2000, 12-bit JPEG and 1-bit segmentation ones are not decoded here). CT_small is also rendered with the usual CT
    // windows, as a viewer would send it: each is a different picture of the same slice.
    private static readonly (string File, (double Center, double Width)? Window, string Label)[] PydicomImages =
    [
        ("CT_small.dcm", null, "CT, the file's window"),
        ("CT_small.dcm", (40, 400), "CT, soft-tissue window"),
        ("CT_small.dcm", (-600, 1500), "CT, lung window"),
        ("CT_small.dcm", (300, 1500), "CT, bone window"),
        ("CT_small.dcm", (40, 80), "CT, brain window"),
        ("image_dfl.dcm", null, "OT, deflated"),
        ("JPEG-lossy.dcm", null, "NM whole-body bone scan"),
        ("ExplVR_BigEnd.dcm", null, "ultrasound, RGB"),
        ("rtdose_1frame.dcm", null, "RT dose grid"),
    ];

    // Medical pictures that are not MRI: a fundus photograph and a retinal angiogram, a histology slide and a microscope image.
    private static readonly string[] SkimageMedical = ["retina.jpg", "microaneurysms.png", "ihc.png", "cell.png"];

    private static readonly string[] SkimagePhotographs =
    [
        "astronaut.png", "camera.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png", "motorcycle_right.png",
        "hubble_deep_field.jpg", "moon.png", "brick.png", "grass.png", "gravel.png", "coins.png", "page.png", "text.png",
        "horse.png", "clock_motion.png", "color.png", "logo.png",
    ];

    public static IReadOnlyList<OutOfDistributionImage> Build(IReadOnlyList<string> externalSlices, int seed, TextWriter log)
    {
        var images = new List<OutOfDistributionImage>();
        if (Directory.Exists(PydicomFolder))
        {
            foreach (var (file, window, label) in PydicomImages)
            {
                string path = Path.Combine(PydicomFolder, file);
                images.Add(new(NonBrainMedical, $"pydicom {file} ({label})", () =>
                    DicomImage.Decode(File.ReadAllBytes(path), new DicomReadOptions(Window: window)).Bitmap, ModalityOf(path)));
            }
        }
        else
        {
            log.WriteLine($"warning: {PydicomFolder} is missing (apt-get install python3-pydicom); no DICOM images in the set.");
        }
        if (Directory.Exists(SkimageFolder))
        {
            images.AddRange(SkimageMedical.Select(file => Skimage(NonBrainMedical, file)));
            images.AddRange(SkimagePhotographs.Select(file => Skimage(Photographs, file)));
        }
        else
        {
            log.WriteLine($"warning: {SkimageFolder} is missing (apt-get install python3-skimage); no photographs in the set.");
        }
        images.AddRange(SyntheticImages(seed));
        images.AddRange(ImplausibleVersions(externalSlices, seed));
        return images;
    }

    private static string? ModalityOf(string path)
    {
        try
        {
            return DicomImage.Decode(File.ReadAllBytes(path)).Info.Modality;
        }
        catch (ImageDecodeException)
        {
            return null;
        }
    }

    private static OutOfDistributionImage Skimage(string group, string file) =>
        new(group, $"skimage {file}", () => ImageLoader.Decode(File.ReadAllBytes(Path.Combine(SkimageFolder, file))));

    /// <summary>Blank frames, noise, gradients, text, checkerboards, stripes and discs, at slice-like sizes.</summary>
    private static IEnumerable<OutOfDistributionImage> SyntheticImages(int seed)
    {
        const int size = 256;
        foreach (byte level in new byte[] { 0, 128, 255 })
        {
            yield return new(Synthetic, $"blank {level}", () => Draw(size, size, canvas => canvas.Clear(new SKColor(level, level, level))));
        }
        for (int i = 0; i < 4; i++)
        {
            int noiseSeed = seed + i;
            bool colour = i % 2 == 1;
            yield return new(Synthetic, $"uniform noise {(colour ? "colour" : "grey")} {i}", () => Noise(size, noiseSeed, colour));
        }
        yield return new(Synthetic, "horizontal gradient", () => Draw(size, size, canvas =>
        {
            using var paint = new SKPaint
            {
                Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(size, 0), [SKColors.Black, SKColors.White],
                    SKShaderTileMode.Clamp),
            };
            canvas.DrawRect(0, 0, size, size, paint);
        }));
        yield return new(Synthetic, "radial gradient", () => Draw(size, size, canvas =>
        {
            using var paint = new SKPaint
            {
                Shader = SKShader.CreateRadialGradient(new SKPoint(size / 2f, size / 2f), size / 2f, [SKColors.White, SKColors.Black],
                    SKShaderTileMode.Clamp),
            };
            canvas.DrawRect(0, 0, size, size, paint);
        }));
        foreach (int squares in new[] { 2, 8, 32 })
        {
            yield return new(Synthetic, $"checkerboard {squares}x{squares}", () => Draw(size, size, canvas =>
            {
                canvas.Clear(SKColors.Black);
                using var paint = new SKPaint { Color = SKColors.White };
                float cell = (float)size / squares;
                for (int y = 0; y < squares; y++)
                {
                    for (int x = (y % 2); x < squares; x += 2)
                    {
                        canvas.DrawRect(x * cell, y * cell, cell, cell, paint);
                    }
                }
            }));
        }
        foreach (int stripes in new[] { 4, 16 })
        {
            yield return new(Synthetic, $"{stripes} stripes", () => Draw(size, size, canvas =>
            {
                canvas.Clear(SKColors.Black);
                using var paint = new SKPaint { Color = SKColors.White };
                float width = (float)size / (2 * stripes);
                for (int s = 0; s < stripes; s++)
                {
                    canvas.DrawRect(2 * s * width, 0, width, size, paint);
                }
            }));
        }
        yield return new(Synthetic, "text", () => Draw(size, size, canvas =>
        {
            canvas.Clear(SKColors.White);
            using var font = new SKFont(EmbeddedFont.Typeface, 22);
            using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            string[] lines = ["Patient report", "Findings: none", "Impression:", "no acute change", "Signed 2026-12-02"];
            for (int line = 0; line < lines.Length; line++)
            {
                canvas.DrawText(lines[line], 12, 40 + 44 * line, SKTextAlign.Left, font, paint);
            }
        }));
        // A grey disc on black has a head's outline and nothing inside it: the hardest of these for a crop-to-the-head pipeline.
        foreach (byte level in new byte[] { 90, 200 })
        {
            yield return new(Synthetic, $"disc {level} on black", () => Draw(size, size, canvas =>
            {
                canvas.Clear(SKColors.Black);
                using var paint = new SKPaint { Color = new SKColor(level, level, level), IsAntialias = true };
                canvas.DrawOval(new SKRect(40, 24, size - 40, size - 24), paint);
            }));
        }
    }

    /// <summary>Each external slice rotated a quarter turn, with its grey levels inverted, and cut to its central 30%.</summary>
    private static IEnumerable<OutOfDistributionImage> ImplausibleVersions(IReadOnlyList<string> slices, int seed)
    {
        var random = new Random(seed);
        // One change per slice, chosen at random, so that no slice appears three times.
        foreach (string path in slices)
        {
            string name = Path.GetFileName(Path.GetDirectoryName(path)) + "/" + Path.GetFileName(path);
            SKBitmap Slice() => ImageLoader.Decode(File.ReadAllBytes(path));
            switch (random.Next(3))
            {
                case 0:
                    yield return new(ImplausibleSlices, $"rotated 90 degrees: {name}", () => Rotate(Slice()));
                    break;
                case 1:
                    yield return new(ImplausibleSlices, $"inverted: {name}", () => Invert(Slice()));
                    break;
                default:
                    yield return new(ImplausibleSlices, $"central 30%: {name}", () => CropCentre(Slice(), 0.3));
                    break;
            }
        }
    }

    private static SKBitmap Draw(int width, int height, Action<SKCanvas> paint)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(bitmap))
        {
            paint(canvas);
        }
        return bitmap;
    }

    private static SKBitmap Noise(int size, int seed, bool colour)
    {
        var random = new Random(seed);
        var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = bitmap.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i += 4)
        {
            byte grey = (byte)random.Next(256);
            pixels[i] = grey;
            pixels[i + 1] = colour ? (byte)random.Next(256) : grey;
            pixels[i + 2] = colour ? (byte)random.Next(256) : grey;
            pixels[i + 3] = 255;
        }
        return bitmap;
    }

    private static SKBitmap Rotate(SKBitmap source)
    {
        using (source)
        {
            return Draw(source.Height, source.Width, canvas =>
            {
                canvas.Translate(source.Height, 0);
                canvas.RotateDegrees(90);
                using var image = SKImage.FromBitmap(source);
                canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest));
            });
        }
    }

    private static SKBitmap Invert(SKBitmap source)
    {
        using (source)
        {
            return Perturbations.MapGreyLevels(source, v => 255 - v);
        }
    }

    private static SKBitmap CropCentre(SKBitmap source, double share)
    {
        using (source)
        {
            int width = Math.Max(1, (int)(source.Width * share)), height = Math.Max(1, (int)(source.Height * share));
            int left = (source.Width - width) / 2, top = (source.Height - height) / 2;
            using var image = SKImage.FromBitmap(source);
            return Draw(width, height, canvas => canvas.DrawImage(image, SKRect.Create(left, top, width, height),
                SKRect.Create(width, height), new SKSamplingOptions(SKFilterMode.Nearest)));
        }
    }
}
