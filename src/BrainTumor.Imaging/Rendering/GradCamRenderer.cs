using System.Numerics;
using SkiaSharp;

namespace BrainTumor.Imaging.Rendering;

/// <summary>Turns a low-resolution Grad-CAM map into pictures at the size of the uploaded image.</summary>
public static class GradCamRenderer
{
    public const float DefaultAlpha = 0.4f;

    /// <summary>
    /// Min-max normalises the map to [0, 1] and upsamples it bilinearly (half-pixel centres) to
    /// <paramref name="width"/>x<paramref name="height"/>. A flat map (no evidence anywhere) becomes all zeros.
    /// </summary>
    /// <param name="region">Where in the picture the model's input came from (a crop around the head); the map
    /// covers that region and is zero outside it. Null for the whole picture.</param>
    public static float[] NormaliseAndUpsample(ReadOnlySpan<float> cam, int camWidth, int camHeight, int width, int height,
        InputRegion? region = null)
    {
        if (cam.Length != camWidth * camHeight)
        {
            throw new ArgumentException(
                $"A {camWidth}x{camHeight} map needs {camWidth * camHeight} values, not {cam.Length}.", nameof(cam));
        }
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in cam)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        float range = max - min;
        var normalised = new float[cam.Length];
        if (range > 0)
        {
            for (int i = 0; i < cam.Length; i++)
            {
                normalised[i] = (cam[i] - min) / range;
            }
        }

        var area = region ?? InputRegion.Whole(width, height);
        var result = new float[width * height];
        float scaleX = camWidth / area.Width, scaleY = camHeight / area.Height;
        // Separable: each map row is interpolated across the picture's columns once, then every picture row is a
        // blend of two of those rows, a vector at a time. Columns and rows whose centre falls outside the region stay 0.
        var columns = new List<(int X, int X0, int X1, float Fx)>(width);
        for (int x = 0; x < width; x++)
        {
            float cx = (x + 0.5f - area.X) * scaleX;
            if (cx < 0 || cx > camWidth) continue;
            float sx = Math.Clamp(cx - 0.5f, 0, camWidth - 1);
            int x0 = (int)sx;
            columns.Add((x, x0, Math.Min(x0 + 1, camWidth - 1), sx - x0));
        }
        if (columns.Count == 0)
        {
            return result;
        }
        // The covered columns are contiguous, since a column's centre moves steadily across the map.
        int first = columns[0].X, span = columns.Count;
        var across = new float[camHeight * span];
        for (int row = 0; row < camHeight; row++)
        {
            var source = normalised.AsSpan(row * camWidth, camWidth);
            var target = across.AsSpan(row * span, span);
            for (int i = 0; i < span; i++)
            {
                var (_, x0, x1, fx) = columns[i];
                target[i] = source[x0] * (1 - fx) + source[x1] * fx;
            }
        }
        for (int y = 0; y < height; y++)
        {
            float cy = (y + 0.5f - area.Y) * scaleY;
            if (cy < 0 || cy > camHeight) continue;
            float sy = Math.Clamp(cy - 0.5f, 0, camHeight - 1);
            int y0 = (int)sy, y1 = Math.Min(y0 + 1, camHeight - 1);
            float fy = sy - y0;
            Lerp(across.AsSpan(y0 * span, span), across.AsSpan(y1 * span, span), 1 - fy, fy, result.AsSpan(y * width + first, span));
        }
        return result;
    }

    /// <summary>target = top * keepTop + bottom * keepBottom, element by element, with the same rounding as the scalar
    /// expression.</summary>
    private static void Lerp(ReadOnlySpan<float> top, ReadOnlySpan<float> bottom, float keepTop, float keepBottom, Span<float> target)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var a = new Vector<float>(keepTop);
            var b = new Vector<float>(keepBottom);
            for (; i + Vector<float>.Count <= target.Length; i += Vector<float>.Count)
            {
                (new Vector<float>(top[i..]) * a + new Vector<float>(bottom[i..]) * b).CopyTo(target[i..]);
            }
        }
        for (; i < target.Length; i++)
        {
            target[i] = top[i] * keepTop + bottom[i] * keepBottom;
        }
    }

    /// <summary>The image with the JET-coloured map blended over it: <c>(1 - alpha) * image + alpha * jet(map)</c>.</summary>
    public static SKBitmap Overlay(SKBitmap image, ReadOnlySpan<float> map, float alpha = DefaultAlpha)
    {
        RequireSize(image.Width, image.Height, map);
        return Blend(image.GetPixelSpan(), map, image.Width, image.Height, alpha);
    }

    /// <summary>The JET-coloured map alone.</summary>
    public static SKBitmap Heatmap(ReadOnlySpan<float> map, int width, int height)
    {
        RequireSize(width, height, map);
        return Blend([], map, width, height, 1f);
    }

    private static SKBitmap Blend(ReadOnlySpan<byte> source, ReadOnlySpan<float> map, int width, int height, float alpha)
    {
        // Opaque, so that drawing the legend below needs no premultiplication and PNG stores three channels, not four.
        var output = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Span<byte> target = output.GetPixelSpan();
        bool blended = !source.IsEmpty;
        float keep = blended ? 1 - alpha : 0;
        // Both terms come from tables of 256 entries, each computed as the per-pixel expression would, so the sum rounds the same.
        Span<float> kept = stackalloc float[256];
        Span<float> red = stackalloc float[256], green = stackalloc float[256], blue = stackalloc float[256];
        for (int v = 0; v < 256; v++)
        {
            kept[v] = keep > 0 ? keep * v : 0;
            var color = Colormap.JetAt(v);
            red[v] = alpha * color.Red;
            green[v] = alpha * color.Green;
            blue[v] = alpha * color.Blue;
        }
        for (int p = 0, i = 0; p < map.Length; p++, i += 4)
        {
            int level = Colormap.Level(map[p]);
            target[i] = (byte)((blended ? kept[source[i]] : 0) + red[level] + 0.5f);
            target[i + 1] = (byte)((blended ? kept[source[i + 1]] : 0) + green[level] + 0.5f);
            target[i + 2] = (byte)((blended ? kept[source[i + 2]] : 0) + blue[level] + 0.5f);
            target[i + 3] = 255;
        }
        return output;
    }

    /// <summary>The map as an 8-bit grayscale image (0 = no evidence, 255 = the strongest).</summary>
    public static SKBitmap Mask(ReadOnlySpan<float> map, int width, int height)
    {
        RequireSize(width, height, map);
        var output = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        Span<byte> target = output.GetPixelSpan();
        for (int p = 0; p < map.Length; p++)
        {
            target[p] = (byte)(Math.Clamp(map[p], 0f, 1f) * 255f + 0.5f);
        }
        return output;
    }

    private static void RequireSize(int width, int height, ReadOnlySpan<float> map)
    {
        if (map.Length != width * height)
        {
            throw new ArgumentException($"The map has {map.Length} values; a {width}x{height} image needs {width * height}.", nameof(map));
        }
    }
}
