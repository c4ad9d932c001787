using BrainTumor.Tests;
using SkiaSharp;

namespace BrainTumor.Imaging.Tests;

/// <summary>Dataset slices, and images made from them or drawn, that the preprocessing steps are tested on.</summary>
internal static class PreprocessingImages
{
    public static TheoryData<string, int> Slices => new()
    {
        { "glioma_tumor", 0 }, { "glioma_tumor", 300 }, { "meningioma_tumor", 5 }, { "meningioma_tumor", 700 },
        { "no_tumor", 0 }, { "no_tumor", 200 }, { "pituitary_tumor", 10 }, { "pituitary_tumor", 600 },
    };

    public static SKBitmap Slice(string label, int index) =>
        ImageLoader.Decode(File.ReadAllBytes(RepositoryPaths.DatasetImage(label, index)));

    /// <summary>The slice pasted into a larger black frame at (left, top): the same anatomy with other framing.</summary>
    public static SKBitmap Framed(SKBitmap slice, int width, int height, int left, int top)
    {
        var framed = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(framed);
        canvas.Clear(SKColors.Black);
        using var image = SKImage.FromBitmap(slice);
        canvas.DrawImage(image, left, top, new SKSamplingOptions(SKFilterMode.Nearest));
        return framed;
    }

    /// <summary>Every channel of every pixel mapped to gain * value + offset (clipped), as another scanner's export might.</summary>
    public static SKBitmap Relit(SKBitmap slice, double gain, double offset)
    {
        var relit = slice.Copy();
        Span<byte> pixels = relit.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i++)
        {
            if (i % 4 != 3) pixels[i] = (byte)Math.Clamp(Math.Round(pixels[i] * gain + offset), 0, 255);
        }
        return relit;
    }

    /// <summary>
    /// Mean absolute difference of the two images' 8x8-pixel block means: a shift of a pixel or two (which the
    /// head's bounding box, found on a small copy, may move by) changes fine texture but not what the blocks show.
    /// </summary>
    public static double MeanAbsoluteDifference(RgbImage a, RgbImage b)
    {
        double total = 0;
        int blocks = 0;
        for (int by = 0; by + 8 <= a.Height; by += 8)
        {
            for (int bx = 0; bx + 8 <= a.Width; bx += 8)
            {
                double sumA = 0, sumB = 0;
                for (int y = by; y < by + 8; y++)
                {
                    for (int x = bx; x < bx + 8; x++)
                    {
                        sumA += a.Planes[y * a.Width + x];
                        sumB += b.Planes[y * b.Width + x];
                    }
                }
                total += Math.Abs(sumA - sumB) / 64;
                blocks++;
            }
        }
        return total / blocks;
    }

    /// <summary>A black image with a square "head" of the given colours (by column parity) in its middle.</summary>
    public static SKBitmap SquareHead(int side, int border, SKColor even, SKColor odd, SKColor? background = null)
    {
        var image = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        image.Erase(background ?? SKColors.Black);
        for (int y = border; y < side - border; y++)
        {
            for (int x = border; x < side - border; x++)
            {
                image.SetPixel(x, y, x % 2 == 0 ? even : odd);
            }
        }
        return image;
    }
}
