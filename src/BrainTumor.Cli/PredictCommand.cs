using System.Globalization;
using System.Text;
using System.Text.Json;
using BrainTumor.Imaging;

namespace BrainTumor.Cli;

public sealed record FilePrediction(string File, string? Label, float? Confidence, IReadOnlyDictionary<string, float>? Probabilities, string? Error);

/// <summary>Classifies files and folders with a shipped model; writes CSV or JSON, one row per file.</summary>
public static class PredictCommand
{
    private static readonly HashSet<string> Extensions = new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".bmp", ".webp" };

    /// <returns>The predictions; files that could not be read carry an error instead.</returns>
    public static IReadOnlyList<FilePrediction> Run(string modelDirectory, IReadOnlyList<string> inputs, string format, TextWriter output)
    {
        if (format is not ("csv" or "json"))
        {
            throw new CliException($"--format must be csv or json, not '{format}'.");
        }
        using var model = ModelLoader.Load(modelDirectory);
        var files = inputs.SelectMany(Expand).ToList();
        if (files.Count == 0)
        {
            throw new CliException("No image files found in the given paths (.jpg, .jpeg, .png, .bmp, .webp).");
        }
        var labels = model.Manifest.Labels;
        var progress = new ProgressBar(files.Count, "predicting");
        var results = new List<FilePrediction>(files.Count);
        foreach (var file in files)
        {
            try
            {
                using var bitmap = ImageLoader.Decode(File.ReadAllBytes(file));
                var prediction = model.Predict(model.Prepare(bitmap).Pixels, withGradCam: false);
                results.Add(new FilePrediction(file, prediction.Label, prediction.Confidence,
                    labels.Select((l, i) => (l, p: prediction.Probabilities[i])).ToDictionary(x => x.l, x => x.p), null));
            }
            catch (Exception ex) when (ex is ImageDecodeException or IOException or UnauthorizedAccessException)
            {
                results.Add(new FilePrediction(file, null, null, null, ex.Message));
            }
            progress.Report(results.Count);
        }
        output.Write(format == "json" ? Json(results) : Csv(results, labels));
        return results;
    }

    private static IEnumerable<string> Expand(string path)
    {
        if (Directory.Exists(path))
        {
            return Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Where(f => Extensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal);
        }
        if (File.Exists(path))
        {
            return [path];
        }
        throw new CliException($"'{path}' is neither a file nor a folder.");
    }

    private static string Json(IReadOnlyList<FilePrediction> results) =>
        JsonSerializer.Serialize(results, new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = true,
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        }) + "\n";

    private static string Csv(IReadOnlyList<FilePrediction> results, IReadOnlyList<string> labels)
    {
        var text = new StringBuilder();
        text.AppendLine($"file,label,confidence,{string.Join(",", labels.Select(l => $"p_{l}"))},error");
        foreach (var r in results)
        {
            string probabilities = string.Join(",", labels.Select(l => r.Probabilities is null ? "" : r.Probabilities[l].ToString("F6", CultureInfo.InvariantCulture)));
            text.AppendLine($"{Quote(r.File)},{r.Label},{r.Confidence?.ToString("F6", CultureInfo.InvariantCulture)},{probabilities},{Quote(r.Error ?? "")}");
        }
        return text.ToString();
    }

    private static string Quote(string value) =>
        value.IndexOfAny([',', '"', '\n']) >= 0 ? $"\"{value.Replace("\"", "\"\"")}\"" : value;
}
