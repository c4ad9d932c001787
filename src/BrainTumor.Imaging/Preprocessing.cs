using System.Text.Json.Serialization;
using SkiaSharp;

namespace BrainTumor.Imaging;

[JsonConverter(typeof(JsonStringEnumConverter<CropMode>))]
public enum CropMode
{
    /// <summary>The whole image is stretched to the input size.</summary>
    None,

    /// <summary>A square around the head (the largest bright region), with a margin, is scaled to the input size.</summary>
    Head,
}

[JsonConverter(typeof(JsonStringEnumConverter<IntensityMode>))]
public enum IntensityMode
{
    /// <summary>Pixels keep their grey levels.</summary>
    None,

    /// <summary>
    /// Grey levels are mapped linearly so that the background's median becomes 0 and the head's 99th percentile
    /// becomes <see cref="Preprocessing.HeadHighTarget"/>.
    /// </summary>
    HeadPercentiles,
}

/// <summary>The input region a model saw, in the decoded image's pixel coordinates (it may reach past the image's edges).</summary>
public readonly record struct InputRegion(float X, float Y, float Width, float Height)
{
    public static InputRegion Whole(int width, int height) => new(0, 0, width, height);
}

/// <summary>A model input and the part of the decoded image it was taken from.</summary>
public sealed record PreparedImage(RgbImage Pixels, InputRegion Region);

/// <summary>
/// How a decoded image becomes a model's input pixels. Training, serving, the CLI and evaluation all call
/// <see cref="Prepare"/>, and each model package records the steps it was trained with, so that a package
/// is always fed as it was trained.
/// <para>
/// Why these steps: the training images of each class come mostly from one source each, so framing (how
/// much black border, how large the head) and brightness tell the class as well as anatomy does. Cropping to
/// the head removes the framing, and the intensity mapping removes brightness and contrast, both measured
/// on the image itself (Otsu's threshold separates head from background; an affine change of grey levels
/// moves the threshold, the background median and the percentile together, so the output does not change).
/// </para>
/// </summary>
/// <param name="CropMargin">Margin around the head's bounding box, as a share of its longer side, on each side.</param>
public sealed record Preprocessing(CropMode Crop = CropMode.None, double CropMargin = 0, IntensityMode Intensity = IntensityMode.None)
{
    /// <summary>The original pipeline: the whole image stretched bilinearly to the input size, grey levels untouched.</summary>
    public static Preprocessing Stretch { get; } = new();

    /// <summary>Crop to the head with a 4% margin, then map grey levels from the head's own statistics.</summary>
    public static Preprocessing HeadStandardised { get; } = new(CropMode.Head, 0.04, IntensityMode.HeadPercentiles);

    /// <summary>Grey level the head's 99th percentile is mapped to; below 255 so that the brightest structures are not clipped flat.</summary>
    public const int HeadHighTarget = 224;

    /// <summary>The head is searched on a copy at most this many pixels per side: enough for a bounding box, and cheap.</summary>
    private const int SearchSide = 256;

    /// <summary>Components smaller than this share of the largest (burned-in letters, markers, noise) do not widen the crop.</summary>
    private const double MinorComponentShare = 0.1;

    /// <summary>A row or column of the full image is part of the head when this many of its pixels are above the threshold (one is noise).</summary>
    private const int EdgePixels = 3;

    private static readonly SKSamplingOptions Sampling = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    public static Preprocessing Parse(string name) => name.ToLowerInvariant() switch
    {
        "stretch" => Stretch,
        "head" => HeadStandardised,
        "head-crop" => new Preprocessing(CropMode.Head, HeadStandardised.CropMargin),
        "intensity" => new Preprocessing(Intensity: IntensityMode.HeadPercentiles),
        _ => throw new ArgumentException($"Unknown preprocessing '{name}'; use stretch, head-crop, intensity or head (both)."),
    };

    public string Describe() => this switch
    {
        { Crop: CropMode.None, Intensity: IntensityMode.None } => "bilinear stretch of the whole image to the input size",
        _ => string.Join("; ", new[]
        {
            Crop == CropMode.Head ? $"square crop around the head (largest Otsu component) with a {CropMargin * 100:0.#}% margin, black outside the image, scaled bilinearly" : "bilinear stretch of the whole image",
            Intensity == IntensityMode.HeadPercentiles ? $"grey levels mapped so that the background median is 0 and the head's 99th percentile {HeadHighTarget}" : null,
        }.OfType<string>()),
    };

    public PreparedImage Prepare(SKBitmap image, int width, int height)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "The target size must be positive.");
        }
        if (this == Stretch)
        {
            return new PreparedImage(ImageLoader.Resize(image, width, height), InputRegion.Whole(image.Width, image.Height));
        }
        var region = Crop == CropMode.Head ? SearchCopy.Of(image).HeadRegion(image, CropMargin) : InputRegion.Whole(image.Width, image.Height);
        var (pixels, inside) = Draw(image, region, width, height);
        if (Intensity == IntensityMode.HeadPercentiles && IntensityLookup(pixels, inside) is byte[] lookup)
        {
            var planes = pixels.Planes;
            for (int i = 0; i < planes.Length; i++)
            {
                planes[i] = lookup[planes[i]];
            }
        }
        return new PreparedImage(pixels, region);
    }

    /// <summary>
    /// The square region around the head: Otsu's threshold on a small grey copy, the bounding box of the
    /// largest 4-connected bright component (and of any component at least a tenth its size), widened by the
    /// margin. An image with no clear foreground gives the whole image.
    /// </summary>
    public static InputRegion FindHead(SKBitmap image, double margin) => SearchCopy.Of(image).HeadRegion(image, margin);

    /// <summary>
    /// One linear map of grey levels, measured on the input pixels that come from the image (the black fill of a
    /// crop that reaches past the image's edge does not count): the median of the background (at or below
    /// Otsu's threshold) goes to 0 and the 99th percentile of the head (above it) to <see cref="HeadHighTarget"/>.
    /// Null when the image has no contrast to measure.
    /// </summary>
    private static byte[]? IntensityLookup(RgbImage pixels, bool[] inside)
    {
        int n = pixels.PixelCount;
        var planes = pixels.Planes;
        var gray = new List<byte>(n);
        for (int p = 0; p < n; p++)
        {
            if (inside[p]) gray.Add((byte)((planes[p] + planes[n + p] + planes[2 * n + p] + 1) / 3));
        }
        return IntensityLookup(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(gray));
    }

    private static byte[]? IntensityLookup(ReadOnlySpan<byte> gray)
    {
        if (HeadThreshold(gray) is not int threshold)
        {
            return null;
        }
        var below = new int[256];
        var above = new int[256];
        foreach (byte g in gray)
        {
            if (g > threshold) above[g]++;
            else below[g]++;
        }
        double low = Percentile(below, 0.5), high = Percentile(above, 0.99);
        if (high - low < 1)
        {
            return null;
        }
        double gain = HeadHighTarget / (high - low);
        var lookup = new byte[256];
        for (int v = 0; v < 256; v++)
        {
            lookup[v] = (byte)Math.Clamp(Math.Round((v - low) * gain), 0, 255);
        }
        return lookup;
    }

    /// <summary>
    /// The grey level that separates head from background: Otsu's threshold, then moved to halfway between the
    /// medians of the two sides until it settles. Otsu's threshold alone falls as black border is added (a head
    /// framed in twice the border got a box 5 pixels wider); the medians hardly move, since the border only adds
    /// to the background's zeros.
    /// </summary>
    public static int? HeadThreshold(ReadOnlySpan<byte> gray)
    {
        if (OtsuThreshold(gray) is not int threshold)
        {
            return null;
        }
        Span<int> histogram = stackalloc int[256];
        histogram.Clear();
        foreach (byte g in gray) histogram[g]++;
        for (int step = 0; step < 10; step++)
        {
            double low = Percentile(histogram[..(threshold + 1)], 0.5);
            double high = threshold + 1 + Percentile(histogram[(threshold + 1)..], 0.5);
            int next = (int)((low + high) / 2);
            if (next == threshold || histogram[(next + 1)..].IndexOfAnyExcept(0) < 0) break;
            threshold = next;
        }
        return threshold;
    }

    /// <summary>Otsu's threshold (pixels above it are foreground), or null for an image with fewer than two grey levels.</summary>
    public static int? OtsuThreshold(ReadOnlySpan<byte> gray)
    {
        Span<long> histogram = stackalloc long[256];
        histogram.Clear();
        foreach (byte g in gray) histogram[g]++;
        long total = gray.Length;
        double sumAll = 0;
        for (int v = 0; v < 256; v++) sumAll += v * (double)histogram[v];
        double sumBelow = 0, bestVariance = -1;
        long countBelow = 0;
        int best = -1;
        for (int t = 0; t < 255; t++)
        {
            countBelow += histogram[t];
            sumBelow += t * (double)histogram[t];
            long countAbove = total - countBelow;
            if (countBelow == 0 || countAbove == 0) continue;
            double meanBelow = sumBelow / countBelow, meanAbove = (sumAll - sumBelow) / countAbove;
            double variance = (double)countBelow * countAbove * (meanBelow - meanAbove) * (meanBelow - meanAbove);
            if (variance > bestVariance)
            {
                bestVariance = variance;
                best = t;
            }
        }
        return best < 0 ? null : best;
    }

    private static double Percentile(ReadOnlySpan<int> histogram, double quantile)
    {
        long total = 0;
        foreach (int c in histogram) total += c;
        if (total == 0) return 0;
        long rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (int v = 0; v < histogram.Length; v++)
        {
            seen += histogram[v];
            if (seen >= Math.Max(1, rank)) return v;
        }
        return histogram.Length - 1;
    }

    /// <summary>A small grey copy of the image, where the head and the grey-level statistics are measured.</summary>
    private sealed class SearchCopy
    {
        private SearchCopy(byte[] gray, int width, int height, int imageWidth, int imageHeight)
        {
            Gray = gray;
            Width = width;
            Height = height;
            ImageWidth = imageWidth;
            ImageHeight = imageHeight;
        }

        public byte[] Gray { get; }
        private int Width { get; }
        private int Height { get; }
        private int ImageWidth { get; }
        private int ImageHeight { get; }

        public static SearchCopy Of(SKBitmap image)
        {
            float scale = Math.Min(1f, (float)SearchSide / Math.Max(image.Width, image.Height));
            int w = Math.Max(1, (int)Math.Round(image.Width * scale)), h = Math.Max(1, (int)Math.Round(image.Height * scale));
            return new SearchCopy(GrayCopy(image, w, h), w, h, image.Width, image.Height);
        }

        public InputRegion HeadRegion(SKBitmap image, double margin)
        {
            var whole = InputRegion.Whole(ImageWidth, ImageHeight);
            if (HeadThreshold(Gray) is not int threshold || ForegroundBox(Gray, Width, Height, threshold) is not { } box)
            {
                return whole;
            }
            var (x0, y0, x1, y1) = Refine(image, box, threshold);
            // Whole pixels, so that the resampling grid is anchored to the head, not to the image's own origin.
            float side = MathF.Round(Math.Max(x1 - x0, y1 - y0) * (1 + 2 * (float)margin));
            float cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
            return new InputRegion(MathF.Round(cx - side / 2), MathF.Round(cy - side / 2), side, side);
        }

        /// <summary>
        /// The box's edges found again in the full image, within one small-copy pixel of where the copy put them,
        /// as the outermost rows and columns with at least <see cref="EdgePixels"/> pixels above the threshold: one
        /// small-copy pixel is up to 1.5% of a head, and a head shifted by that much gave visibly different input.
        /// </summary>
        private (float X0, float Y0, float X1, float Y1) Refine(SKBitmap image, (int Left, int Top, int Right, int Bottom) box, int threshold)
        {
            float sx = (float)ImageWidth / Width, sy = (float)ImageHeight / Height;
            int left = Math.Max(0, (int)((box.Left - 1) * sx)), right = Math.Min(ImageWidth - 1, (int)((box.Right + 2) * sx));
            int top = Math.Max(0, (int)((box.Top - 1) * sy)), bottom = Math.Min(ImageHeight - 1, (int)((box.Bottom + 2) * sy));
            using var rgba = image.ColorType == SKColorType.Rgba8888 ? null : image.Copy(SKColorType.Rgba8888);
            ReadOnlySpan<byte> pixels = (rgba ?? image).GetPixelSpan();
            int stride = ImageWidth * 4;
            static int Count(ReadOnlySpan<byte> pixels, int start, int step, int count, int threshold)
            {
                int n = 0;
                for (int k = 0, i = start; k < count; k++, i += step)
                {
                    if ((pixels[i] + pixels[i + 1] + pixels[i + 2] + 1) / 3 > threshold) n++;
                }
                return n;
            }
            int CountColumn(ReadOnlySpan<byte> pixels, int x) => Count(pixels, top * stride + x * 4, stride, bottom - top + 1, threshold);
            int CountRow(ReadOnlySpan<byte> pixels, int y) => Count(pixels, y * stride + left * 4, 4, right - left + 1, threshold);
            int innerLeft = Math.Min(right, (int)((box.Left + 1) * sx)), innerRight = Math.Max(left, (int)(box.Right * sx));
            int innerTop = Math.Min(bottom, (int)((box.Top + 1) * sy)), innerBottom = Math.Max(top, (int)(box.Bottom * sy));
            int x0 = left, x1 = right, y0 = top, y1 = bottom;
            while (x0 < innerLeft && CountColumn(pixels, x0) < EdgePixels) x0++;
            while (x1 > innerRight && CountColumn(pixels, x1) < EdgePixels) x1--;
            while (y0 < innerTop && CountRow(pixels, y0) < EdgePixels) y0++;
            while (y1 > innerBottom && CountRow(pixels, y1) < EdgePixels) y1--;
            return (x0, y0, x1 + 1, y1 + 1);
        }

        private static (int Left, int Top, int Right, int Bottom)? ForegroundBox(byte[] gray, int w, int h, int threshold)
        {
            var component = new int[gray.Length];
            var sizes = new List<int> { 0 };
            var boxes = new List<(int Left, int Top, int Right, int Bottom)> { default };
            var stack = new Stack<int>();
            for (int start = 0; start < gray.Length; start++)
            {
                if (gray[start] <= threshold || component[start] != 0) continue;
                int id = sizes.Count, size = 0;
                int left = w, top = h, right = -1, bottom = -1;
                component[start] = id;
                stack.Push(start);
                while (stack.Count > 0)
                {
                    int p = stack.Pop();
                    int x = p % w, y = p / w;
                    size++;
                    left = Math.Min(left, x); right = Math.Max(right, x);
                    top = Math.Min(top, y); bottom = Math.Max(bottom, y);
                    if (x > 0) Visit(p - 1);
                    if (x < w - 1) Visit(p + 1);
                    if (y > 0) Visit(p - w);
                    if (y < h - 1) Visit(p + w);
                }
                sizes.Add(size);
                boxes.Add((left, top, right, bottom));
            }
            if (sizes.Count == 1) return null;
            int largest = sizes.Max();
            (int Left, int Top, int Right, int Bottom)? union = null;
            for (int id = 1; id < sizes.Count; id++)
            {
                if (sizes[id] < MinorComponentShare * largest) continue;
                var b = boxes[id];
                union = union is { } u ? (Math.Min(u.Left, b.Left), Math.Min(u.Top, b.Top), Math.Max(u.Right, b.Right), Math.Max(u.Bottom, b.Bottom)) : b;
            }
            return union;

            void Visit(int q)
            {
                if (gray[q] > threshold && component[q] == 0)
                {
                    component[q] = sizes.Count;
                    stack.Push(q);
                }
            }
        }

        private static byte[] GrayCopy(SKBitmap image, int w, int h)
        {
            using var small = w == image.Width && h == image.Height
                ? image.Copy(SKColorType.Rgba8888)
                : image.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul), Sampling);
            if (small is null)
            {
                throw new ImageDecodeException(ImageProblem.Corrupt, "The image could not be resized.");
            }
            ReadOnlySpan<byte> rgba = small.GetPixelSpan();
            var gray = new byte[w * h];
            for (int p = 0, i = 0; p < gray.Length; p++, i += 4)
            {
                gray[p] = (byte)((rgba[i] + rgba[i + 1] + rgba[i + 2] + 1) / 3);
            }
            return gray;
        }

    }

    /// <summary>
    /// Scales <paramref name="region"/> of the image to width x height; what lies outside the image is black.
    /// Also says which input pixels lie wholly inside the image.
    /// </summary>
    private static (RgbImage Pixels, bool[] Inside) Draw(SKBitmap image, InputRegion region, int width, int height)
    {
        using var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        // Only the part of the image inside the region is drawn, as an image of its own: the mipmaps that
        // smooth the downscaling are then built from the region's corner, and a head looks the same wherever
        // it sits in the frame (drawing the whole image changed 8x8 block means by 10 grey levels after a shift).
        var inImage = SKRectI.Intersect(
            SKRectI.Create((int)region.X, (int)region.Y, (int)region.Width, (int)region.Height), SKRectI.Create(0, 0, image.Width, image.Height));
        using var part = new SKBitmap();
        if (!inImage.IsEmpty && image.ExtractSubset(part, inImage))
        {
            using var canvas = new SKCanvas(target);
            using var source = SKImage.FromBitmap(part);
            // Transparent fill marks the pixels that come from outside the image; they are black in the input.
            canvas.Clear(SKColors.Transparent);
            canvas.Scale(width / region.Width, height / region.Height);
            canvas.Translate(inImage.Left - region.X, inImage.Top - region.Y);
            canvas.DrawImage(source, 0, 0, Sampling);
        }
        ReadOnlySpan<byte> rgba = target.GetPixelSpan();
        var inside = new bool[width * height];
        var planes = new byte[3 * width * height];
        int plane = width * height;
        for (int p = 0, i = 0; p < plane; p++, i += 4)
        {
            inside[p] = rgba[i + 3] == 255;
            // Unpremultiplied colour at partly covered edge pixels is scaled by coverage, so the edge fades to black.
            int alpha = rgba[i + 3];
            planes[p] = (byte)((rgba[i] * alpha + 127) / 255);
            planes[plane + p] = (byte)((rgba[i + 1] * alpha + 127) / 255);
            planes[2 * plane + p] = (byte)((rgba[i + 2] * alpha + 127) / 255);
        }
        return (new RgbImage(width, height, planes), inside);
    }
}
