namespace BrainTumor.Evaluation;

/// <summary>What a person recorded about one image, found by its SHA-256: its modality (CT when it is not MRI) and its plane.</summary>
public sealed record SliceAnnotation(string? Modality, string? Plane);

/// <summary>
/// Reads annotation CSVs such as <c>data/modality/*.csv</c> (a <c>modality</c> column) and <c>data/lesion-boxes/*.csv</c> (a
/// <c>plane</c> column), keyed by the <c>sha256</c> column, so that an image is recognised wherever it sits.
/// </summary>
public static class SliceAnnotations
{
    public static IReadOnlyDictionary<string, SliceAnnotation> Read(IEnumerable<string> paths)
    {
        var annotations = new Dictionary<string, SliceAnnotation>(StringComparer.OrdinalIgnoreCase);
        foreach (string path in paths)
        {
            var lines = File.ReadAllLines(path);
            var header = lines.Length > 0 ? Csv.SplitLine(lines[0]) : throw new FormatException($"{path}: empty.");
            int sha = Array.IndexOf(header, "sha256"), modality = Array.IndexOf(header, "modality"), plane = Array.IndexOf(header, "plane");
            if (sha < 0 || (modality < 0 && plane < 0))
            {
                throw new FormatException($"{path}: needs a 'sha256' column and a 'modality' or 'plane' column.");
            }
            foreach (var fields in lines.Skip(1).Where(l => l.Length > 0).Select(Csv.SplitLine))
            {
                string? Field(int column) => column >= 0 && fields[column].Length > 0 ? fields[column] : null;
                var found = annotations.GetValueOrDefault(fields[sha]);
                annotations[fields[sha]] = new SliceAnnotation(Field(modality) ?? found?.Modality, Field(plane) ?? found?.Plane);
            }
        }
        return annotations;
    }
}
