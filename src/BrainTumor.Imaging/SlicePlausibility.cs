using SkiaSharp;

namespace BrainTumor.Imaging;

/// <summary>
/// Checks, before any model runs, that a decoded image could be an axial slice at all: not a strip, not a blank
/// frame. These images would otherwise get one of the four labels with high confidence (an 8192x1 strip was
/// "meningioma" at 0.83).
/// </summary>
public static class SlicePlausibility
{
    /// <summary>Widest width-to-height (or height-to-width) ratio accepted. The widest image in the data is 1.78:1
    /// (Training and Testing-dev, measured 2026-12-02).</summary>
    public const double MaxAspectRatio = 3.0;

    /// <summary>Smallest standard deviation of the grey levels (0-255) accepted. The flattest image in the data has 21.</summary>
    public const double MinGreyLevelDeviation = 3.0;

    // Enough pixels for the deviation to be exact to well under a grey level, at a cost that does not grow with the image.
    private const int SampledPixels = 16_384;

    /// <summary>Why the image cannot be a slice, in one sentence; null when it could be one.</summary>
    public static string? Problem(SKBitmap image)
    {
        double ratio = (double)Math.Max(image.Width, image.Height) / Math.Min(image.Width, image.Height);
        if (ratio > MaxAspectRatio)
        {
            return $"The image is {image.Width}x{image.Height}, {ratio:0.#}:1; an MRI slice is at most {MaxAspectRatio:0}:1.";
        }
        double deviation = GreyLevelDeviation(image);
        if (deviation < MinGreyLevelDeviation)
        {
            return $"The image is almost uniform (grey levels vary by {deviation:0.0} around their mean, at least {MinGreyLevelDeviation:0} is needed); it shows no slice.";
        }
        return null;
    }

    /// <summary>The standard deviation of the grey levels (as <see cref="Preprocessing"/> computes them) over a regular sample of the pixels.</summary>
    public static double GreyLevelDeviation(SKBitmap image)
    {
        ReadOnlySpan<byte> rgba = Preprocessing.Rgba(image);
        // SKBitmap's Width and Height call into Skia; read once, not per pixel (per pixel they cost 6 ms on a 512x512 slice).
        int width = image.Width, height = image.Height;
        int step = Math.Max(1, (int)Math.Sqrt((double)width * height / SampledPixels));
        double sum = 0, squares = 0;
        long count = 0;
        for (int y = 0; y < height; y += step)
        {
            for (int x = 0; x < width; x += step)
            {
                double grey = Preprocessing.Grey(rgba, (y * width + x) * 4);
                sum += grey;
                squares += grey * grey;
                count++;
            }
        }
        double mean = sum / count;
        return Math.Sqrt(Math.Max(squares / count - mean * mean, 0));
    }
}
