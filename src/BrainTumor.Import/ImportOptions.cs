using System.Globalization;
using BrainTumor.Imaging;
using BrainTumor.Models;

namespace BrainTumor.Import;

public enum InputLayout
{
    Auto,
    Nchw,
    Nhwc,
}

/// <param name="TargetLayer">Node name or tensor name of the feature map to explain; found automatically when null.</param>
public sealed record ImportOptions(
    string OnnxPath, IReadOnlyList<string> Labels, int Height, int Width, Normalization Normalization, InputLayout Layout,
    string? TargetLayer, string OutputDirectory, string? Name = null)
{
    /// <summary>
    /// <c>rescale</c> (x/255), <c>imagenet</c> (x/255, then ImageNet mean and std), <c>raw</c> (0-255), or
    /// <c>scale=S;mean=a,b,c;std=a,b,c</c>.
    /// </summary>
    public static Normalization ParseNormalization(string text)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "rescale": return Normalization.Rescale255;
            case "imagenet": return Normalization.ImageNet;
            case "raw": return Normalization.Raw;
        }
        float scale = 1f;
        float[] mean = [0, 0, 0], std = [1, 1, 1];
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2)
            {
                throw new ImportException($"--normalisation: '{part}' is not key=value.");
            }
            switch (pair[0].ToLowerInvariant())
            {
                case "scale": scale = Number(pair[1]); break;
                case "mean": mean = Triple(pair[1]); break;
                case "std": std = Triple(pair[1]); break;
                default: throw new ImportException(
                    $"--normalisation: unknown key '{pair[0]}' (use scale, mean, std, or rescale, imagenet, raw).");
            }
        }
        var normalization = new Normalization(scale, mean, std);
        return normalization.Problem is string problem ? throw new ImportException($"--normalisation: {problem}") : normalization;
    }

    private static float Number(string text)
    {
        if (text.Contains('/'))
        {
            var fraction = text.Split('/');
            return Number(fraction[0]) / Number(fraction[1]);
        }
        return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value)
            ? value
            : throw new ImportException($"--normalisation: '{text}' is not a number.");
    }

    private static float[] Triple(string text)
    {
        var values = text.Split(',', StringSplitOptions.TrimEntries).Select(Number).ToArray();
        return values.Length == 3 ? values : throw new ImportException($"--normalisation: '{text}' must be three numbers.");
    }
}
