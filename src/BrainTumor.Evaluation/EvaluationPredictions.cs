using System.Globalization;
using BrainTumor.Models;

namespace BrainTumor.Evaluation;

/// <summary>
/// An evaluation's <c>predictions.csv</c>: each image's true and predicted label and probabilities, so that another model's
/// evaluation of the same images can be paired with it image by image.
/// </summary>
public static class EvaluationPredictions
{
    public const string FileName = "predictions.csv";

    /// <param name="files">The images, relative to the evaluated folder with '/' separators, as the pairing matches them.</param>
    public static void Write(string path, IReadOnlyList<string> labels, IReadOnlyList<string> files, int[] truth,
        IReadOnlyList<float[]> probabilities)
    {
        var lines = new List<string> { "file,truth,predicted," + string.Join(",", labels) };
        for (int i = 0; i < files.Count; i++)
        {
            lines.Add($"\"{files[i].Replace("\"", "\"\"")}\",{labels[truth[i]]},{labels[ClassProbabilities.ArgMax(probabilities[i])]}," +
                      string.Join(",", probabilities[i].Select(p => p.ToString("0.######", CultureInfo.InvariantCulture))));
        }
        File.WriteAllLines(path, lines);
    }

    /// <summary>
    /// The images this model and the model of the evaluation in <paramref name="otherFolder"/> each got right alone, and the exact
    /// McNemar test of that split, as one note of the report.
    /// </summary>
    public static string Paired(string model, IReadOnlyList<string> files, int[] truth, IReadOnlyList<int> predicted, string otherFolder)
    {
        string path = Path.Combine(otherFolder, FileName);
        if (!File.Exists(path))
        {
            throw new EvaluationException($"'{path}' does not exist; evaluate the other model on the same data first.");
        }
        // Each row: the file, the true and the predicted label; the other model's labels are compared by name.
        var other = File.ReadLines(path).Skip(1).Select(Csv.SplitLine).ToDictionary(r => r[0], r => r[1] == r[2]);
        if (files.Any(f => !other.ContainsKey(f)) || other.Count != files.Count)
        {
            throw new EvaluationException($"'{path}' scores other images than this evaluation; pair evaluations of the same data only.");
        }
        int onlyThis = 0, onlyOther = 0;
        for (int i = 0; i < files.Count; i++)
        {
            bool right = predicted[i] == truth[i];
            onlyThis += right && !other[files[i]] ? 1 : 0;
            onlyOther += !right && other[files[i]] ? 1 : 0;
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"Paired with the evaluation in {otherFolder} on the same {files.Count} images: only {model} right on {onlyThis}, " +
            $"only the other model on {onlyOther}; exact McNemar p = {PairedComparison.McNemarExact(onlyThis, onlyOther):0.000}.");
    }
}
