using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Imaging;
using BrainTumor.Inference;
using BrainTumor.Models;
using SkiaSharp;

namespace BrainTumor.Cli;

/// <summary>One fixed change of an image, as another scanner, sequence or export might make it.</summary>
public sealed record Corruption(string Name, string Severity, Func<SKBitmap, int, SKBitmap> Apply);

public sealed record ShiftScore(string Corruption, string Severity, string Model, double Accuracy, double MacroF1, double? TumourSensitivity);

/// <summary>
/// The shift benchmark: models scored on held-out Training images under a fixed, seeded set of corruptions, so
/// that robustness to brightness, contrast, gamma, blur, noise, compression and resolution is tracked without
/// the external Testing images. The images are the packages' own validation split (never trained on); every
/// model must have been trained with the same split.
/// </summary>
public static class ShiftBenchmark
{
    public static IReadOnlyList<Corruption> Corruptions { get; } =
    [
        new(Unchanged, "-", (image, _) => image.Copy()),
        new("brightness", "+40", (image, _) => Perturbations.MapGreyLevels(image, v => v + 40)),
        new("brightness", "-40", (image, _) => Perturbations.MapGreyLevels(image, v => v - 40)),
        new("contrast", "x0.6", (image, _) => Contrast(image, 0.6)),
        new("contrast", "x1.5", (image, _) => Contrast(image, 1.5)),
        new("gamma", "0.6", (image, _) => Perturbations.MapGreyLevels(image, v => 255 * Math.Pow(v / 255, 0.6))),
        new("gamma", "1.6", (image, _) => Perturbations.MapGreyLevels(image, v => 255 * Math.Pow(v / 255, 1.6))),
        new("blur", "sigma 1.5 px", (image, _) => Blur(image, 1.5f)),
        new("blur", "sigma 3 px", (image, _) => Blur(image, 3f)),
        new("noise", "sigma 8", (image, seed) => Noise(image, 8, seed)),
        new("noise", "sigma 16", (image, seed) => Noise(image, 16, seed)),
        new("JPEG", "quality 25", (image, _) => Jpeg(image, 25)),
        new("JPEG", "quality 8", (image, _) => Jpeg(image, 8)),
        new("resolution", "1/2", (image, _) => Downscale(image, 2)),
        new("resolution", "1/4", (image, _) => Downscale(image, 4)),
    ];

    /// <param name="record">Also write each model's <see cref="ShiftSummary"/> into its <c>model.json</c>.</param>
    public static IReadOnlyList<ShiftScore> Run(IReadOnlyList<string> modelDirectories, string dataDirectory, string outputDirectory, TextWriter log,
        bool record = false)
    {
        if (modelDirectories.Count == 0)
        {
            throw new CliException("Give at least one --model.");
        }
        var models = new List<ClassifierModel>();
        try
        {
            foreach (var directory in modelDirectories)
            {
                models.Add(ModelLoader.Load(directory));
            }
            var training = models.Select(m => m.Manifest.TrainedOn ?? throw new CliException($"Model '{m.Name}' records no training split.")).ToList();
            if (training.Any(t => t.DatasetContentSha256 != training[0].DatasetContentSha256 || t.Split.Seed != training[0].Split.Seed
                                  || t.Split.ValidationFraction != training[0].Split.ValidationFraction))
            {
                throw new CliException("The models were trained on different data or splits, so they have no common held-out images.");
            }
            var labels = models[0].Manifest.Labels;
            // Only the file list, labels and hashes are needed here; each image is decoded again at full size below.
            var dataset = ImageFolderDataset.Load(dataDirectory, labels, 8, warn: w => log.WriteLine($"warning: {w}"));
            if (dataset.ContentSha256() != training[0].DatasetContentSha256)
            {
                throw new CliException($"'{dataDirectory}' is not the data the models were trained on, so their held-out split cannot be rebuilt.");
            }
            var indices = dataset.HoldOut(training[0].Split.ValidationFraction, training[0].Split.Seed).Validation;

            var probabilities = new Dictionary<(int Corruption, int Model), List<float[]>>();
            var truth = indices.Select(i => dataset.Samples[i].Label).ToArray();
            var progress = new ProgressBar(indices.Count, "scoring");
            for (int n = 0; n < indices.Count; n++)
            {
                var sample = dataset.Samples[indices[n]];
                using var original = ImageLoader.Decode(File.ReadAllBytes(Path.Combine(dataDirectory, sample.RelativePath)));
                for (int c = 0; c < Corruptions.Count; c++)
                {
                    // The seed depends on the image's content, not its place in the list, so a rerun draws the same noise.
                    using var corrupted = Corruptions[c].Apply(original, BitConverter.ToInt32(Convert.FromHexString(sample.Sha256[..8])));
                    for (int m = 0; m < models.Count; m++)
                    {
                        var prediction = models[m].Predict(models[m].Prepare(corrupted).Pixels, withGradCam: false);
                        (probabilities.TryGetValue((c, m), out var list) ? list : probabilities[(c, m)] = []).Add(prediction.Probabilities);
                    }
                }
                progress.Report(n + 1);
            }

            var scores = new List<ShiftScore>();
            for (int c = 0; c < Corruptions.Count; c++)
            {
                for (int m = 0; m < models.Count; m++)
                {
                    var metrics = ProbabilisticMetrics.Compute(probabilities[(c, m)], truth, labels).Classification;
                    scores.Add(new ShiftScore(Corruptions[c].Name, Corruptions[c].Severity, Label(models[m]), metrics.Accuracy, metrics.MacroF1, metrics.TumourSensitivity));
                }
            }
            Save(outputDirectory, models, dataDirectory, indices.Count, scores);
            log.WriteLine($"report: {Path.Combine(outputDirectory, "report.md")}");
            if (record)
            {
                string report = ModelManifest.RecordedPath(outputDirectory);
                foreach (var model in models)
                {
                    string path = Path.Combine(model.Directory, ModelManifest.FileName);
                    var summary = Summarise(scores.Where(s => s.Model == Label(model)).ToList(), report, indices.Count);
                    (ModelManifest.Read(path) with { Shift = summary }).Write(path);
                    log.WriteLine($"{model.Name}: mean accuracy {summary.MeanAccuracy:F3} over the corruptions (clean {summary.Clean:F3}, worst {summary.Worst} " +
                                  $"{summary.WorstAccuracy:F3}) recorded in {path}");
                }
            }
            return scores;
        }
        finally
        {
            foreach (var model in models)
            {
                model.Dispose();
            }
        }
    }

    private static void Save(string folder, IReadOnlyList<ClassifierModel> models, string data, int images, IReadOnlyList<ShiftScore> scores)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(scores, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
        var text = new StringBuilder();
        text.AppendLine("# Shift benchmark");
        text.AppendLine();
        text.AppendLine($"- data: the {images} held-out validation images of `{ModelManifest.RecordedPath(data)}` (the split every model's manifest records; none was trained on)");
        text.AppendLine($"- each image is changed at its own resolution before the model's own preprocessing; noise is seeded by the image's SHA-256");
        text.AppendLine($"- evaluated {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC on {Machine.Description}, with ONNX Runtime");
        foreach (var model in models)
        {
            text.AppendLine($"- `{model.Name}` {model.Manifest.Version}: {model.Manifest.Input.Steps.Describe()}; augmentation: {model.Manifest.TrainingAugmentation}");
        }
        text.AppendLine("- rerun: `braintumor shift " + string.Join(" ", models.Select(m => $"--model {m.Directory}")) + " --data <Training folder>`");
        text.AppendLine();
        text.AppendLine("Accuracy (tumour sensitivity: tumours not called no_tumor)");
        text.AppendLine();
        text.AppendLine($"| corruption | severity | {string.Join(" | ", models.Select(m => $"`{Label(m)}`"))} |");
        text.AppendLine($"|---|---|{string.Concat(models.Select(_ => "---|"))}");
        foreach (var row in scores.GroupBy(s => (s.Corruption, s.Severity)))
        {
            text.AppendLine($"| {row.Key.Corruption} | {row.Key.Severity} | " +
                            string.Join(" | ", row.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Accuracy:F3} ({s.TumourSensitivity:F3})"))) + " |");
        }
        text.AppendLine();
        text.AppendLine("| mean over the corruptions | | " + string.Join(" | ", models.Select(m =>
            string.Create(CultureInfo.InvariantCulture, $"{MeanOverCorruptions(scores.Where(s => s.Model == Label(m))):F3}"))) + " |");
        File.WriteAllText(Path.Combine(folder, "report.md"), text.ToString());
    }

    private const string Unchanged = "none";

    private static double MeanOverCorruptions(IEnumerable<ShiftScore> scores) => scores.Where(s => s.Corruption != Unchanged).Average(s => s.Accuracy);

    /// <summary>One model's scores (every corruption, and the unchanged images) as its manifest records them.</summary>
    public static ShiftSummary Summarise(IReadOnlyList<ShiftScore> scores, string report, int images)
    {
        var worst = scores.Where(s => s.Corruption != Unchanged).MinBy(s => s.Accuracy)
            ?? throw new ArgumentException("There are no corrupted scores.", nameof(scores));
        return new ShiftSummary(report, images, Math.Round(scores.Single(s => s.Corruption == Unchanged).Accuracy, 4), Math.Round(MeanOverCorruptions(scores), 4),
            $"{worst.Corruption} {worst.Severity}", Math.Round(worst.Accuracy, 4), DateTimeOffset.UtcNow);
    }

    /// <summary>Name and version, since an old and a new package of one model may be compared.</summary>
    private static string Label(ClassifierModel model) => $"{model.Name} {model.Manifest.Version}";

    /// <summary>Contrast scaled about the image's mean grey level.</summary>
    private static SKBitmap Contrast(SKBitmap image, double factor)
    {
        ReadOnlySpan<byte> pixels = image.GetPixelSpan();
        double sum = 0;
        for (int i = 0; i < pixels.Length; i += 4) sum += (pixels[i] + pixels[i + 1] + pixels[i + 2]) / 3.0;
        double mean = sum / (pixels.Length / 4);
        return Perturbations.MapGreyLevels(image, v => mean + factor * (v - mean));
    }

    private static SKBitmap Blur(SKBitmap image, float sigma)
    {
        var result = new SKBitmap(image.Info);
        using var canvas = new SKCanvas(result);
        using var paint = new SKPaint { ImageFilter = SKImageFilter.CreateBlur(sigma, sigma, SKShaderTileMode.Clamp) };
        using var source = SKImage.FromBitmap(image);
        canvas.DrawImage(source, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest), paint);
        return result;
    }

    /// <summary>The same Gaussian noise on all three channels, as on a grey slice.</summary>
    private static SKBitmap Noise(SKBitmap image, double sigma, int seed)
    {
        var random = new Random(seed);
        var result = image.Copy(SKColorType.Rgba8888);
        Span<byte> pixels = result.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i += 4)
        {
            double noise = sigma * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            for (int c = 0; c < 3; c++)
            {
                pixels[i + c] = (byte)Math.Clamp(Math.Round(pixels[i + c] + noise), 0, 255);
            }
        }
        return result;
    }

    private static SKBitmap Jpeg(SKBitmap image, int quality)
    {
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, quality);
        return ImageLoader.Decode(data.AsSpan());
    }

    private static SKBitmap Downscale(SKBitmap image, int factor) =>
        image.Resize(new SKImageInfo(Math.Max(1, image.Width / factor), Math.Max(1, image.Height / factor), SKColorType.Rgba8888, SKAlphaType.Unpremul),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
        ?? throw new CliException("An image could not be downscaled.");
}
