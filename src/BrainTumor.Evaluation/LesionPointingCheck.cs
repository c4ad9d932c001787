using System.Globalization;
using System.Security.Cryptography;
using BrainTumor.Imaging;
using BrainTumor.Imaging.Rendering;
using BrainTumor.Inference;
using BrainTumor.Models;

namespace BrainTumor.Evaluation;

/// <summary>The pointing game of one map method on the evaluated slices that have a hand-drawn lesion box.</summary>
/// <param name="MassInside">Mean share of the map's mass inside the box.</param>
/// <param name="ByClass">Per class: slices, hits.</param>
public sealed record LesionPointing(
    string Method, int Images, int Hits, double MassInside, IReadOnlyList<(string Label, int Images, int Hits)> ByClass)
{
    public string Summary()
    {
        var (low, high) = WilsonInterval.Of(Hits, Images);
        string byClass = string.Join(", ", ByClass.Select(c => $"{c.Label} {c.Hits}/{c.Images}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"Pointing game of {Method} maps on {Images} slices with a hand-drawn lesion box: the true class's map peaks in the box " +
            $"(margin {PointingGame.Margin * 100:0}%) on {Hits} ({(double)Hits / Images:0.000} [{low:0.000}, {high:0.000}]); " +
            $"mean share of the map inside the box {MassInside:0.000}; by class {byClass}.");
    }

    /// <summary>As <c>model.json</c> records it.</summary>
    public LesionPointingResult Record(string boxes, string data)
    {
        var (low, high) = WilsonInterval.Of(Hits, Images);
        return new LesionPointingResult(Method, boxes, data, Images, Hits, Math.Round((double)Hits / Images, 4), Math.Round(low, 4),
            Math.Round(high, 4), Math.Round(MassInside, 4), PointingGame.Margin, DateTimeOffset.UtcNow);
    }
}

public static class LesionPointingCheck
{
    /// <param name="root">The evaluated folder, which the boxes' files are relative to.</param>
    /// <param name="evaluated">The evaluated files (relative to <paramref name="root"/>): only their boxes count.</param>
    public static LesionPointing Run(ClassifierModel model, CamMethod method, string root, IReadOnlyList<LesionBox> boxes,
        IReadOnlySet<string> evaluated, ProgressStart progress)
    {
        var labels = model.Manifest.Labels.ToList();
        var used = boxes.Where(b => evaluated.Contains(b.File)).ToList();
        if (used.Count == 0)
        {
            throw new EvaluationException("None of the lesion boxes is on an evaluated image; give the boxes of this data (and split).");
        }
        var done = progress(used.Count, $"{method.Name()} pointing game");
        var results = new List<(string Label, bool Hit, double Mass)>();
        foreach (var box in used)
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(root, box.File));
            if (!Convert.ToHexStringLower(SHA256.HashData(bytes)).Equals(box.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new EvaluationException($"{box.File} is not the image its lesion box was drawn on (SHA-256 differs).");
            }
            int target = labels.IndexOf(box.Label) is int index and >= 0
                ? index
                : throw new EvaluationException(
                    $"The lesion box of {box.File} is labelled '{box.Label}', which is not one of the model's classes.");
            using var bitmap = ImageLoader.Decode(bytes);
            var prepared = model.Prepare(bitmap);
            var map = model.Predict(prepared.Pixels, withGradCam: true, target, method).GradCam!;
            var upsampled = GradCamRenderer.NormaliseAndUpsample(map.Values, map.Width, map.Height, bitmap.Width, bitmap.Height,
                prepared.Region);
            var (hit, mass) = PointingGame.Score(upsampled, bitmap.Width, bitmap.Height, box);
            results.Add((box.Label, hit, mass));
            done(results.Count);
        }
        var byClass = results.GroupBy(r => r.Label).OrderBy(g => labels.IndexOf(g.Key))
            .Select(g => (g.Key, g.Count(), g.Count(r => r.Hit))).ToList();
        return new LesionPointing(method.Name(), results.Count, results.Count(r => r.Hit), results.Average(r => r.Mass), byClass);
    }
}
