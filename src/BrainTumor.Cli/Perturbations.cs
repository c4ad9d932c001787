using SkiaSharp;

namespace BrainTumor.Cli;

/// <summary>Changes to an image's grey levels that the shift benchmark and the Grad-CAM stability check both apply.</summary>
internal static class Perturbations
{
    /// <summary>Each colour channel's value v becomes function(v), rounded and clamped to 0-255; alpha is kept.</summary>
    public static SKBitmap MapGreyLevels(SKBitmap image, Func<double, double> function)
    {
        var lookup = new byte[256];
        for (int v = 0; v < 256; v++)
        {
            lookup[v] = (byte)Math.Clamp(Math.Round(function(v)), 0, 255);
        }
        var result = image.Copy(SKColorType.Rgba8888) ?? throw new InvalidOperationException("The image could not be copied.");
        Span<byte> pixels = result.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i++)
        {
            if (i % 4 != 3) pixels[i] = lookup[pixels[i]];
        }
        return result;
    }
}
