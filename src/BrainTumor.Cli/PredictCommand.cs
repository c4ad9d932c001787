using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using BrainTumor.Imaging;
using BrainTumor.Inference;
using BrainTumor.Models;

namespace BrainTumor.Cli;

/// <param name="InDistribution">The model's out-of-distribution guard; null without a guard or when the file could not be
/// classified.</param>
public sealed record FilePrediction(string File, string Model, string ModelVersion, string? Label, float? Confidence,
    IReadOnlyDictionary<string, float>? Probabilities, InDistribution? InDistribution, string? Error);

/// <summary>Classifies files and folders with a shipped model; writes CSV or JSON, one row per file.</summary>
public static class PredictCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static Command Definition()
    {
        var paths = new Argument<string[]>("paths")
        {
            Description = "Image files and/or folders (searched recursively).", Arity = ArgumentArity.OneOrMore,
        };
        var format = new Option<string>("--format") { Description = "csv or json.", DefaultValueFactory = _ => "csv" };
        var output = new Option<string?>("--out") { Description = "File to write (default: standard output)." };
        var operatingPoint = new Option<string>("--operating-point")
        {
            Description = "argmax (the most probable class) or sensitive (a tumour class unless no_tumor reaches the model's fitted " +
                          "minimum).",
            DefaultValueFactory = _ => "argmax",
        };
        var predict = new Command("predict", "Classify images; one row per file with the label and every class's probability.")
        {
            paths, Commands.Model, format, output, operatingPoint, Commands.FullDecode,
        };
        predict.SetAction(parse => Commands.Run(() =>
        {
            string? file = parse.GetValue(output);
            if (file is not null && Path.GetDirectoryName(Path.GetFullPath(file)) is string folder)
            {
                Directory.CreateDirectory(folder);
            }
            using var writer = file is null ? Console.Out : new StreamWriter(file);
            var results = Run(parse.GetValue(Commands.Model)!, parse.GetValue(paths)!, parse.GetValue(format)!, writer,
                parse.GetValue(operatingPoint)!, parse.GetValue(Commands.FullDecode));
            foreach (var failure in results.Where(r => r.Error is not null))
            {
                Console.Error.WriteLine($"error: {failure.File}: {failure.Error}");
            }
            if (file is not null)
            {
                Console.Error.WriteLine($"wrote {results.Count(r => r.Error is null)} of {results.Count} results to {file}");
            }
            return results.Any(r => r.Error is not null) ? 1 : 0;
        }));
        return predict;
    }

    /// <returns>The predictions; files that could not be read carry an error instead.</returns>
    /// <param name="model">A model package folder, or the name of one under the repository's <c>models</c> folder.</param>
    /// <param name="operatingPoint">argmax or sensitive, as the API's <c>operatingPoint</c>.</param>
    /// <param name="fullDecode">Decode every JPEG at full size instead of at the smallest scale that still covers the model's
    /// input.</param>
    public static IReadOnlyList<FilePrediction> Run(string model, IReadOnlyList<string> inputs, string format, TextWriter output,
        string operatingPoint = "argmax", bool fullDecode = false)
    {
        if (format is not ("csv" or "json"))
        {
            throw new CliException($"--format must be csv or json, not '{format}'.");
        }
        if (OperatingPoints.Parse(operatingPoint) is not OperatingPoint point)
        {
            throw new CliException(
                $"--operating-point must be one of {string.Join(", ", OperatingPoints.Names)}, not '{operatingPoint}'.");
        }
        using var classifier = ModelLoader.Load(model);
        if (OperatingPoints.Unavailable(classifier.Manifest, point) is string unavailable)
        {
            throw new CliException(unavailable);
        }
        var files = inputs.SelectMany(Expand).ToList();
        if (files.Count == 0)
        {
            throw new CliException($"No image files found in the given paths ({ImageLoader.FileExtensionList}).");
        }
        var labels = classifier.Manifest.Labels;
        var progress = new ProgressBar(files.Count, "predicting");
        var results = new List<FilePrediction>(files.Count);
        foreach (var file in files)
        {
            try
            {
                var decoded = ImageLoader.DecodeWithDicomInfo(File.ReadAllBytes(file), ImageLimits.Classification,
                    fullDecode ? null : classifier.InputSize);
                using var bitmap = decoded.Bitmap;
                if (SlicePlausibility.Problem(bitmap, decoded.Dicom?.Modality) is { } implausible)
                {
                    results.Add(new FilePrediction(file, classifier.Name, classifier.Manifest.Version, null, null, null, null,
                        $"{implausible.Title.ToLowerInvariant().Replace("mri", "MRI")}: {implausible.Detail}"));
                    progress.Report(results.Count);
                    continue;
                }
                var prediction = classifier.Predict(classifier.Prepare(bitmap).Pixels, withGradCam: false, point: point);
                results.Add(new FilePrediction(file, classifier.Name, classifier.Manifest.Version, prediction.Label, prediction.Confidence,
                    ClassProbabilities.ByLabel(labels, prediction.Probabilities), prediction.InDistribution, null));
            }
            catch (Exception ex) when (ex is ImageDecodeException or IOException or UnauthorizedAccessException)
            {
                results.Add(new FilePrediction(file, classifier.Name, classifier.Manifest.Version, null, null, null, null, ex.Message));
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
                .Where(ImageLoader.IsImageFile).Order(StringComparer.Ordinal);
        }
        if (File.Exists(path))
        {
            return [path];
        }
        throw new CliException($"'{path}' is neither a file nor a folder.");
    }

    private static string Json(IReadOnlyList<FilePrediction> results) =>
        JsonSerializer.Serialize(results, JsonOptions) + "\n";

    private static string Csv(IReadOnlyList<FilePrediction> results, IReadOnlyList<string> labels)
    {
        var text = new StringBuilder();
        text.AppendLine($"file,model,model_version,label,confidence,{string.Join(",", labels.Select(l => $"p_{l}"))}," +
                        "in_distribution,in_distribution_score,error");
        foreach (var r in results)
        {
            string probabilities = string.Join(",",
                labels.Select(l => r.Probabilities is null ? "" : r.Probabilities[l].ToString("F6", CultureInfo.InvariantCulture)));
            string confidence = r.Confidence?.ToString("F6", CultureInfo.InvariantCulture) ?? "";
            string score = r.InDistribution?.Score.ToString("F3", CultureInfo.InvariantCulture) ?? "";
            text.AppendLine($"{Quote(r.File)},{Quote(r.Model)},{Quote(r.ModelVersion)},{r.Label},{confidence},{probabilities}," +
                            $"{r.InDistribution?.Ok.ToString().ToLowerInvariant()},{score},{Quote(r.Error ?? "")}");
        }
        return text.ToString();
    }

    private static string Quote(string value) =>
        value.IndexOfAny([',', '"', '\n']) >= 0 ? $"\"{value.Replace("\"", "\"\"")}\"" : value;
}
