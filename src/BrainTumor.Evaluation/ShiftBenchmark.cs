using System.Globalization;
using System.Text;
using System.Text.Json;
using BrainTumor.Data;
using BrainTumor.Imaging;
using BrainTumor.Inference;
using BrainTumor.Models;
using SkiaSharp;

namespace BrainTumor.Evaluation;

/// <summary>One fixed change of an image, as another scanner, sequence or export might make it.</summary>
public sealed record Corruption(string Name, string Severity, Func<SKBitmap, int, SKBitmap> Apply);

public sealed record ShiftScore(
    string Corruption, string Severity, string Model, double Accuracy, double MacroF1, double? TumourSensitivity);

/// <summary>
/// The shift benchmark: models scored on held-out Training images under a fixed, seeded set of corruptions, so
/// that robustness to brightness, contrast, gamma, blur, noise, compression and resolution is tracked without
/// the external Testing images. The images are the packages' own validation split (never trained on); every
/// model must have been trained with the same split.
/// </summary>
public static class ShiftBenchmark
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static IReadOnlyList<Corruption> Corruptions { get; } =
    [
        new(Unchanged, "-", (image, _) => image.Copy()),
        new("brightness", "+40", (image, _) => Perturbations.BrightnessAndContrast(image, brightness: 40)),
        new("brightness", "-40", (image, _) => Perturbations.BrightnessAndContrast(image, brightness: -40)),
        // Contrast is scaled about the image's own mean grey level, so that the mean stays.
        new("contrast", "x0.6", (image, _) => Perturbations.BrightnessAndContrast(image, 0, 0.6, about: Perturbations.MeanGrey(image))),
        new("contrast", "x1.5", (image, _) => Perturbations.BrightnessAndContrast(image, 0, 1.5, about: Perturbations.MeanGrey(image))),
        new("gamma", "0.6", (image, _) => Perturbations.Gamma(image, 0.6)),
        new("gamma", "1.6", (image, _) => Perturbations.Gamma(image, 1.6)),
        new("blur", "sigma 1.5 px", (image, _) => Perturbations.GaussianBlur(image, 1.5f)),
        new("blur", "sigma 3 px", (image, _) => Perturbations.GaussianBlur(image, 3f)),
        new("noise", "sigma 8", (image, seed) => Perturbations.Noise(image, 8, seed)),
        new("noise", "sigma 16", (image, seed) => Perturbations.Noise(image, 16, seed)),
        new("JPEG", "quality 25", (image, _) => Perturbations.Jpeg(image, 25)),
        new("JPEG", "quality 8", (image, _) => Perturbations.Jpeg(image, 8)),
        new("resolution", "1/2", (image, _) => Perturbations.Downscale(image, 2)),
        new("resolution", "1/4", (image, _) => Perturbations.Downscale(image, 4)),
    ];

    /// <summary>Every model's accuracy, macro-F1 and tumour sensitivity on the images under every corruption.</summary>
    /// <param name="heldOut">The images to score, indices into <paramref name="dataset"/>: the split every model held out.</param>
    public static IReadOnlyList<ShiftScore> Run(IReadOnlyList<ClassifierModel> models, ImageFolderDataset dataset,
        IReadOnlyList<int> heldOut, ProgressStart progress)
    {
        var labels = models[0].Manifest.Labels;
        var probabilities = new Dictionary<(int Corruption, int Model), List<float[]>>();
        var truth = heldOut.Select(i => dataset.Samples[i].Label).ToArray();
        var done = progress(heldOut.Count, "scoring");
        for (int n = 0; n < heldOut.Count; n++)
        {
            var sample = dataset.Samples[heldOut[n]];
            using var original = ImageLoader.Decode(File.ReadAllBytes(Path.Combine(dataset.Root, sample.RelativePath)));
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
            done(n + 1);
        }

        var scores = new List<ShiftScore>();
        for (int c = 0; c < Corruptions.Count; c++)
        {
            for (int m = 0; m < models.Count; m++)
            {
                var metrics = ProbabilisticMetrics.Compute(probabilities[(c, m)], truth, labels).Classification;
                scores.Add(new ShiftScore(Corruptions[c].Name, Corruptions[c].Severity, Label(models[m]), metrics.Accuracy, metrics.MacroF1,
                    metrics.TumourSensitivity));
            }
        }
        return scores;
    }

    /// <summary>Writes <c>report.json</c> (the scores) and <c>report.md</c> (the table) to <paramref name="folder"/>.</summary>
    /// <param name="data">The folder the images came from.</param>
    public static void Save(string folder, IReadOnlyList<ClassifierModel> models, string data, int images, IReadOnlyList<ShiftScore> scores)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(scores, Json));
        var text = new StringBuilder();
        text.AppendLine("# Shift benchmark");
        text.AppendLine();
        text.AppendLine($"- data: the {images} held-out validation images of `{ModelManifest.RecordedPath(data)}` (the split every " +
                        "model's manifest records; none was trained on)");
        text.AppendLine("- each image is changed at its own resolution before the model's own preprocessing; noise is seeded by the " +
                        "image's SHA-256");
        text.AppendLine($"- evaluated {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC on {Machine.Description}, with ONNX Runtime");
        foreach (var model in models)
        {
            text.AppendLine($"- `{model.Name}` {model.Manifest.Version}: {model.Manifest.Input.Steps.Describe()}; " +
                            $"augmentation: {model.Manifest.TrainingAugmentation}");
        }
        text.AppendLine("- rerun: `braintumor shift " + string.Join(" ", models.Select(m => $"--model {m.Directory}")) +
                        " --data <Training folder>`");
        text.AppendLine();
        text.AppendLine("Accuracy (tumour sensitivity: tumours not called no_tumor)");
        text.AppendLine();
        text.AppendLine($"| corruption | severity | {string.Join(" | ", models.Select(m => $"`{Label(m)}`"))} |");
        text.AppendLine($"|---|---|{string.Concat(models.Select(_ => "---|"))}");
        foreach (var row in scores.GroupBy(s => (s.Corruption, s.Severity)))
        {
            var cells = row.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Accuracy:F3} ({s.TumourSensitivity:F3})"));
            text.AppendLine($"| {row.Key.Corruption} | {row.Key.Severity} | " + string.Join(" | ", cells) + " |");
        }
        text.AppendLine();
        text.AppendLine("| mean over the corruptions | | " + string.Join(" | ", models.Select(m =>
            string.Create(CultureInfo.InvariantCulture, $"{MeanOverCorruptions(scores.Where(s => s.Model == Label(m))):F3}"))) + " |");
        File.WriteAllText(Path.Combine(folder, "report.md"), text.ToString());
    }

    private const string Unchanged = "none";

    private static double MeanOverCorruptions(IEnumerable<ShiftScore> scores) =>
        scores.Where(s => s.Corruption != Unchanged).Average(s => s.Accuracy);

    /// <summary>One model's scores (every corruption, and the unchanged images) as its manifest records them.</summary>
    public static ShiftSummary Summarise(IReadOnlyList<ShiftScore> scores, string report, int images)
    {
        var worst = scores.Where(s => s.Corruption != Unchanged).MinBy(s => s.Accuracy)
            ?? throw new ArgumentException("There are no corrupted scores.", nameof(scores));
        return new ShiftSummary(report, images, Math.Round(scores.Single(s => s.Corruption == Unchanged).Accuracy, 4),
            Math.Round(MeanOverCorruptions(scores), 4), $"{worst.Corruption} {worst.Severity}", Math.Round(worst.Accuracy, 4),
            DateTimeOffset.UtcNow);
    }

    /// <summary>Name and version, since an old and a new package of one model may be compared.</summary>
    public static string Label(ClassifierModel model) => $"{model.Name} {model.Manifest.Version}";
}
