using BrainTumor.Imaging;
using SkiaSharp;

namespace BrainTumor.Evaluation;

/// <summary>
/// Changes of an image, as another scanner, sequence or export might make them: the shift benchmark's corruptions, the
/// Grad-CAM checks' brightness and contrast change and their blurred "removed" state, the out-of-distribution set's inversion.
/// The two blurs differ on purpose: <see cref="GaussianBlur"/> blurs a decoded picture at its own resolution, as a scanner
/// would; <see cref="BoxBlur"/> blurs the model's input, with a sigma the Grad-CAM checks record in <c>model.json</c>.
/// </summary>
public static class Perturbations
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

    /// <summary>
    /// Contrast scaled by <paramref name="contrast"/> about the grey level <paramref name="about"/>, then every level raised by
    /// <paramref name="brightness"/>, rounded once.
    /// </summary>
    public static SKBitmap BrightnessAndContrast(SKBitmap image, double brightness, double contrast = 1, double about = 0) =>
        MapGreyLevels(image, v => (v - about) * contrast + about + brightness);

    /// <summary>The mean grey level (the mean of the three channels) over the image.</summary>
    public static double MeanGrey(SKBitmap image)
    {
        ReadOnlySpan<byte> pixels = image.GetPixelSpan();
        double sum = 0;
        for (int i = 0; i < pixels.Length; i += 4) sum += (pixels[i] + pixels[i + 1] + pixels[i + 2]) / 3.0;
        return sum / (pixels.Length / 4);
    }

    public static SKBitmap Gamma(SKBitmap image, double gamma) => MapGreyLevels(image, v => 255 * Math.Pow(v / 255, gamma));

    public static SKBitmap GaussianBlur(SKBitmap image, float sigma)
    {
        var result = new SKBitmap(image.Info);
        using var canvas = new SKCanvas(result);
        using var paint = new SKPaint { ImageFilter = SKImageFilter.CreateBlur(sigma, sigma, SKShaderTileMode.Clamp) };
        using var source = SKImage.FromBitmap(image);
        canvas.DrawImage(source, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest), paint);
        return result;
    }

    /// <summary>The same Gaussian noise on all three channels, as on a grey slice.</summary>
    public static SKBitmap Noise(SKBitmap image, double sigma, int seed)
    {
        var random = new Random(seed);
        var result = image.Copy(SKColorType.Rgba8888);
        Span<byte> pixels = result.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i += 4)
        {
            double noise = sigma * random.NextStandardNormal();
            for (int c = 0; c < 3; c++)
            {
                pixels[i + c] = (byte)Math.Clamp(Math.Round(pixels[i + c] + noise), 0, 255);
            }
        }
        return result;
    }

    public static SKBitmap Jpeg(SKBitmap image, int quality)
    {
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, quality);
        return ImageLoader.Decode(data.AsSpan());
    }

    public static SKBitmap Downscale(SKBitmap image, int factor) =>
        image.Resize(new SKImageInfo(Math.Max(1, image.Width / factor), Math.Max(1, image.Height / factor), SKColorType.Rgba8888,
                SKAlphaType.Unpremul),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
        ?? throw new InvalidOperationException("An image could not be downscaled.");

    /// <summary>
    /// Three box blurs of <paramref name="radius"/> along the rows and the columns, the window clamped at the edges (edge pixels
    /// repeated): close to a Gaussian of <see cref="BoxBlurSigma"/>.
    /// </summary>
    public static RgbImage BoxBlur(RgbImage image, int radius)
    {
        var planes = (byte[])image.Planes.Clone();
        var buffer = new float[image.PixelCount];
        for (int c = 0; c < 3; c++)
        {
            var channel = planes.AsSpan(c * image.PixelCount, image.PixelCount);
            for (int i = 0; i < buffer.Length; i++) buffer[i] = channel[i];
            for (int pass = 0; pass < 3; pass++)
            {
                MovingMean(buffer, image.Width, image.Height, radius, horizontal: true);
                MovingMean(buffer, image.Width, image.Height, radius, horizontal: false);
            }
            for (int i = 0; i < buffer.Length; i++) channel[i] = (byte)Math.Clamp(MathF.Round(buffer[i]), 0, 255);
        }
        return new RgbImage(image.Width, image.Height, planes);
    }

    /// <summary>The standard deviation of three box blurs of that radius: each adds ((2r+1)^2 - 1) / 12 of variance.</summary>
    public static double BoxBlurSigma(int radius)
    {
        int diameter = 2 * radius + 1;
        return Math.Sqrt(3 * (diameter * diameter - 1) / 12.0);
    }

    /// <summary>A moving mean along rows or columns, the window clamped at the edges (edge pixels repeated).</summary>
    private static void MovingMean(float[] values, int width, int height, int radius, bool horizontal)
    {
        int lines = horizontal ? height : width, length = horizontal ? width : height;
        int stride = horizontal ? 1 : width, lineStride = horizontal ? width : 1;
        var line = new float[length];
        for (int l = 0; l < lines; l++)
        {
            int start = l * lineStride;
            for (int i = 0; i < length; i++) line[i] = values[start + i * stride];
            float sum = 0;
            for (int k = -radius; k <= radius; k++) sum += line[Math.Clamp(k, 0, length - 1)];
            for (int i = 0; i < length; i++)
            {
                values[start + i * stride] = sum / (2 * radius + 1);
                sum += line[Math.Min(i + radius + 1, length - 1)] - line[Math.Max(i - radius, 0)];
            }
        }
    }
}
