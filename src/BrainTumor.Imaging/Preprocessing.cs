using System.Buffers;
using System.Numerics.Tensors;
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
/// on the image itself (<see cref="HeadThreshold"/> separates head from background; an affine change of grey
/// levels moves the threshold, the background median and the percentile together, so the output does not change).
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
            Crop == CropMode.Head
                ? $"square crop around the head (largest bright component above the head/background threshold, edges refined at full resolution) with a {CropMargin * 100:0.#}% margin, black outside the image, resampled with a box filter"
                : "box-filter resampling of the whole image",
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
    /// The square region around the head: <see cref="HeadThreshold"/> on the full image's histogram, the bounding
    /// box, on a small grey copy, of the largest 4-connected bright component (and of any component at least a tenth its size), widened by the
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
        Span<int> histogram = stackalloc int[256];
        histogram.Clear();
        for (int p = 0; p < n; p++)
        {
            if (inside[p]) histogram[Grey(planes, n, p)]++;
        }
        if (HeadThreshold(histogram) is not int threshold)
        {
            return null;
        }
        double low = Percentile(histogram[..(threshold + 1)], 0.5);
        double high = threshold + 1 + Percentile(histogram[(threshold + 1)..], 0.99);
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
    /// to the background's zeros. Null for an image with fewer than two grey levels.
    /// </summary>
    public static int? HeadThreshold(ReadOnlySpan<int> histogram)
    {
        if (OtsuThreshold(histogram) is not int threshold)
        {
            return null;
        }
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

    public static int[] Histogram(ReadOnlySpan<byte> gray)
    {
        var histogram = new int[256];
        foreach (byte g in gray) histogram[g]++;
        return histogram;
    }

    /// <summary>Otsu's threshold (grey levels above it are foreground), or null for fewer than two grey levels.</summary>
    public static int? OtsuThreshold(ReadOnlySpan<int> histogram)
    {
        long total = 0;
        double sumAll = 0;
        for (int v = 0; v < 256; v++)
        {
            total += histogram[v];
            sumAll += v * (double)histogram[v];
        }
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

    /// <summary>A small grey copy of the image, where the head's bounding box is searched.</summary>
    private sealed class SearchCopy
    {
        private SearchCopy(byte[] gray, int[] fullHistogram, int width, int height, int imageWidth, int imageHeight)
        {
            Gray = gray;
            FullHistogram = fullHistogram;
            Width = width;
            Height = height;
            ImageWidth = imageWidth;
            ImageHeight = imageHeight;
        }

        public byte[] Gray { get; }

        /// <summary>Grey-level histogram of the full image.</summary>
        private int[] FullHistogram { get; }
        private int Width { get; }
        private int Height { get; }
        private int ImageWidth { get; }
        private int ImageHeight { get; }

        /// <summary>
        /// One pass over the image gives both the full histogram and the small copy, each small pixel the mean of the
        /// image pixels that fall in it (an area average, which does not alias). It replaced a Skia bilinear copy plus a
        /// second pass for the histogram; with the flat resampling tables below, preparing a slice went from 5.7 to 3.7 ms
        /// and <c>/predict</c> from 120 to 139 req/s (2026-12-02, loadtests/results/head-search-20261202). <see cref="Refine"/>
        /// finds the edges again at full resolution, so the copy only has to put the box within two of its pixels.
        /// </summary>
        public static SearchCopy Of(SKBitmap image)
        {
            int imageWidth = image.Width, imageHeight = image.Height;
            float scale = Math.Min(1f, (float)SearchSide / Math.Max(imageWidth, imageHeight));
            int w = Math.Max(1, (int)Math.Round(imageWidth * scale)), h = Math.Max(1, (int)Math.Round(imageHeight * scale));
            var column = new int[imageWidth];
            var columnCount = new int[w];
            for (int x = 0; x < imageWidth; x++)
            {
                column[x] = (int)((long)x * w / imageWidth);
                columnCount[column[x]]++;
            }
            var sums = ArrayPool<int>.Shared.Rent(w * h);
            Array.Clear(sums, 0, w * h);
            var rowCount = new int[h];
            // The threshold comes from every pixel of the image: a small copy's histogram changes with the image's
            // size, and a threshold a few levels off moved the box by 1.5% of the head.
            var histogram = new int[256];
            ReadOnlySpan<byte> rgba = Rgba(image);
            for (int y = 0; y < imageHeight; y++)
            {
                int row = (int)((long)y * h / imageHeight);
                rowCount[row]++;
                var sumRow = sums.AsSpan(row * w, w);
                var pixels = rgba.Slice(y * imageWidth * 4, imageWidth * 4);
                for (int x = 0; x < imageWidth;)
                {
                    int cell = column[x], sum = 0;
                    for (; x < imageWidth && column[x] == cell; x++)
                    {
                        byte grey = Grey(pixels, 4 * x);
                        histogram[grey]++;
                        sum += grey;
                    }
                    sumRow[cell] += sum;
                }
            }
            var gray = new byte[w * h];
            for (int sy = 0, p = 0; sy < h; sy++)
            {
                for (int sx = 0; sx < w; sx++, p++)
                {
                    int count = rowCount[sy] * columnCount[sx];
                    gray[p] = (byte)((sums[p] + count / 2) / count);
                }
            }
            ArrayPool<int>.Shared.Return(sums);
            return new SearchCopy(gray, histogram, w, h, imageWidth, imageHeight);
        }

        public InputRegion HeadRegion(SKBitmap image, double margin)
        {
            var whole = InputRegion.Whole(ImageWidth, ImageHeight);
            if (HeadThreshold(FullHistogram) is not int threshold || ForegroundBox(Gray, Width, Height, threshold) is not { } box)
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
        /// The box's edges found again in the full image, near where the copy put them, as the outermost rows and columns with at least <see cref="EdgePixels"/> pixels above the threshold, searched
        /// two small-copy pixels outward (the plain bilinear copy can miss a thin bright rim): one
        /// small-copy pixel is up to 1.5% of a head, and a head shifted by that much gave visibly different input.
        /// </summary>
        private (float X0, float Y0, float X1, float Y1) Refine(SKBitmap image, (int Left, int Top, int Right, int Bottom) box, int threshold)
        {
            float sx = (float)ImageWidth / Width, sy = (float)ImageHeight / Height;
            int left = Math.Max(0, (int)((box.Left - 2) * sx)), right = Math.Min(ImageWidth - 1, (int)((box.Right + 3) * sx));
            int top = Math.Max(0, (int)((box.Top - 2) * sy)), bottom = Math.Min(ImageHeight - 1, (int)((box.Bottom + 3) * sy));
            ReadOnlySpan<byte> pixels = Rgba(image);
            int stride = ImageWidth * 4;
            static int Count(ReadOnlySpan<byte> pixels, int start, int step, int count, int threshold)
            {
                int n = 0;
                for (int k = 0, i = start; k < count; k++, i += step)
                {
                    if (Grey(pixels, i) > threshold) n++;
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
            var component = ArrayPool<int>.Shared.Rent(gray.Length);
            var (boxes, major) = MajorComponents(gray, w, h, threshold, component.AsSpan(0, gray.Length));
            ArrayPool<int>.Shared.Return(component);
            (int Left, int Top, int Right, int Bottom)? union = null;
            foreach (int id in major)
            {
                var b = boxes[id];
                union = union is { } u ? (Math.Min(u.Left, b.Left), Math.Min(u.Top, b.Top), Math.Max(u.Right, b.Right), Math.Max(u.Bottom, b.Bottom)) : b;
            }
            return union;
        }
    }

    /// <summary>
    /// The 4-connected components of the pixels above <paramref name="threshold"/> (ids from 1 in <paramref name="component"/>,
    /// 0 for background), their bounding boxes, and the ids of the head's: the largest, and any at least
    /// <see cref="MinorComponentShare"/> of its size (burned-in letters and markers are smaller).
    /// </summary>
    /// <param name="component">Receives each pixel's component id; as long as <paramref name="gray"/>.</param>
    private static (List<(int Left, int Top, int Right, int Bottom)> Boxes, List<int> Major) MajorComponents(
        ReadOnlySpan<byte> gray, int w, int h, int threshold, Span<int> component)
    {
        component.Clear();
        var sizes = new List<int> { 0 };
        var boxes = new List<(int Left, int Top, int Right, int Bottom)> { default };
        // Each pixel is pushed at most once, so a stack as long as the image never overflows. Pooled, as the other
        // per-image int buffers here: at a 256x256 copy's size (256 KB) each would be a large-object-heap allocation
        // on every request.
        var stack = ArrayPool<int>.Shared.Rent(gray.Length);
        int depth = 0;
        for (int start = 0; start < gray.Length; start++)
        {
            if (gray[start] <= threshold || component[start] != 0) continue;
            int id = sizes.Count, size = 0;
            int left = w, top = h, right = -1, bottom = -1;
            component[start] = id;
            stack[depth++] = start;
            while (depth > 0)
            {
                int p = stack[--depth];
                int x = p % w, y = p / w;
                size++;
                left = Math.Min(left, x); right = Math.Max(right, x);
                top = Math.Min(top, y); bottom = Math.Max(bottom, y);
                if (x > 0) Visit(gray, component, p - 1);
                if (x < w - 1) Visit(gray, component, p + 1);
                if (y > 0) Visit(gray, component, p - w);
                if (y < h - 1) Visit(gray, component, p + w);
            }
            sizes.Add(size);
            boxes.Add((left, top, right, bottom));
        }
        ArrayPool<int>.Shared.Return(stack);
        int largest = sizes.Max();
        var major = Enumerable.Range(1, sizes.Count - 1).Where(id => sizes[id] >= MinorComponentShare * largest).ToList();
        return (boxes, major);

        void Visit(ReadOnlySpan<byte> gray, Span<int> component, int q)
        {
            if (gray[q] > threshold && component[q] == 0)
            {
                component[q] = sizes.Count;
                stack[depth++] = q;
            }
        }
    }

    /// <summary>
    /// Which pixels of a model input are head: the head's components above <see cref="HeadThreshold"/> (as the crop finds them),
    /// with the holes inside them filled, since dark tissue and fluid inside the skull are head too. All false for an input with
    /// fewer than two grey levels.
    /// </summary>
    public static bool[] HeadMask(RgbImage input)
    {
        int w = input.Width, h = input.Height, plane = w * h;
        var gray = new byte[plane];
        var planes = input.Planes;
        for (int p = 0; p < plane; p++)
        {
            gray[p] = Grey(planes, plane, p);
        }
        var mask = new bool[plane];
        if (HeadThreshold(Histogram(gray)) is not int threshold)
        {
            return mask;
        }
        var component = new int[plane];
        var (_, major) = MajorComponents(gray, w, h, threshold, component);
        var head = major.ToHashSet();
        // Everything the border reaches without crossing the head is outside; the rest is head.
        var outside = new bool[plane];
        var stack = new Stack<int>();
        void Reach(int p)
        {
            if (!outside[p] && !head.Contains(component[p]))
            {
                outside[p] = true;
                stack.Push(p);
            }
        }
        for (int x = 0; x < w; x++) { Reach(x); Reach((h - 1) * w + x); }
        for (int y = 0; y < h; y++) { Reach(y * w); Reach(y * w + w - 1); }
        while (stack.Count > 0)
        {
            int p = stack.Pop();
            int x = p % w, y = p / w;
            if (x > 0) Reach(p - 1);
            if (x < w - 1) Reach(p + 1);
            if (y > 0) Reach(p - w);
            if (y < h - 1) Reach(p + w);
        }
        for (int p = 0; p < plane; p++)
        {
            mask[p] = !outside[p];
        }
        return mask;
    }

    /// <summary>The image's pixels as RGBA bytes; images decoded by <see cref="ImageLoader"/> already are.</summary>
    internal static ReadOnlySpan<byte> Rgba(SKBitmap image)
    {
        if (image.ColorType != SKColorType.Rgba8888 || image.RowBytes != image.Width * 4)
        {
            throw new ArgumentException("Preprocessing needs a tightly packed RGBA bitmap, as ImageLoader.Decode returns.", nameof(image));
        }
        return image.GetPixelSpan();
    }

    /// <summary>The grey level of the RGBA pixel at byte <paramref name="i"/>: the rounded mean of its colours.</summary>
    internal static byte Grey(ReadOnlySpan<byte> rgba, int i) => (byte)((rgba[i] + rgba[i + 1] + rgba[i + 2] + 1) / 3);

    /// <summary>The same grey level for pixel <paramref name="p"/> of planar RGB (<see cref="RgbImage.Planes"/>, <paramref name="plane"/> bytes per colour).</summary>
    private static byte Grey(byte[] planes, int plane, int p) => (byte)((planes[p] + planes[plane + p] + planes[2 * plane + p] + 1) / 3);

    private static bool IsGrey(ReadOnlySpan<byte> rgba)
    {
        for (int i = 0; i < rgba.Length; i += 4)
        {
            if (rgba[i] != rgba[i + 1] || rgba[i] != rgba[i + 2]) return false;
        }
        return true;
    }

    /// <summary>
    /// Source pixels and their weights that make each output pixel along one axis, as flat tables of
    /// <see cref="Width"/> taps per output: output <c>o</c> reads source pixels <c>Index[o * Width + k]</c> with
    /// weights <c>Weight[o * Width + k]</c>. Taps that fall outside the image, or pad an output to the common width,
    /// have weight 0 and a clamped index, so the inner loops need no tests.
    /// </summary>
    /// <param name="Coverage">Per output, the sum of its weights: below 1 where the footprint reaches past the image.</param>
    private sealed record AxisTaps(int Width, int[] Index, float[] Weight, float[] Coverage)
    {
        /// <summary>
        /// Each output pixel averages the source pixels its footprint covers, weighted by overlap (an exact box
        /// filter, so downscaling does not alias), or interpolates linearly when the region is smaller than the
        /// output. Source pixels outside the image get no weight, so they count as black.
        /// </summary>
        public static AxisTaps For(float start, float length, int outputs, int sourceSize)
        {
            float scale = length / outputs;
            // A box of `scale` pixels touches at most ceil(scale) + 1 of them; linear interpolation reads two.
            int width = scale >= 1 ? (int)MathF.Ceiling(scale) + 1 : 2;
            var index = new int[outputs * width];
            var weight = new float[outputs * width];
            var coverage = new float[outputs];
            for (int o = 0; o < outputs; o++)
            {
                var weights = weight.AsSpan(o * width, width);
                int first;
                if (scale >= 1)
                {
                    float a = start + o * scale, b = a + scale;
                    first = (int)MathF.Floor(a);
                    int last = (int)MathF.Ceiling(b) - 1;
                    for (int j = Math.Max(first, 0); j <= Math.Min(last, sourceSize - 1); j++)
                    {
                        weights[j - first] = (Math.Min(b, j + 1) - Math.Max(a, j)) / scale;
                    }
                }
                else
                {
                    float centre = start + (o + 0.5f) * scale - 0.5f;
                    first = (int)MathF.Floor(centre);
                    float fraction = centre - first;
                    weights[0] = first >= 0 && first < sourceSize ? 1 - fraction : 0;
                    weights[1] = first + 1 >= 0 && first + 1 < sourceSize ? fraction : 0;
                }
                double sum = 0;
                for (int k = 0; k < width; k++)
                {
                    index[o * width + k] = Math.Clamp(first + k, 0, sourceSize - 1);
                    sum += weights[k];
                }
                coverage[o] = (float)sum;
            }
            return new AxisTaps(width, index, weight, coverage);
        }

        /// <summary>The first and last source pixels any output reads with a weight.</summary>
        public (int First, int Last) SourceRange()
        {
            int first = int.MaxValue, last = int.MinValue;
            for (int t = 0; t < Index.Length; t++)
            {
                if (Weight[t] == 0) continue;
                first = Math.Min(first, Index[t]);
                last = Math.Max(last, Index[t]);
            }
            return first > last ? (0, -1) : (first, last);
        }
    }

    /// <summary>
    /// Scales <paramref name="region"/> of the image to width x height with <see cref="AxisTaps"/> in each
    /// direction; what lies outside the image is black. Also says which input pixels lie wholly inside the
    /// image. Written out rather than drawn with Skia: Skia's mipmapped drawing cost 14 ms per image and its
    /// plain bilinear drawing aliases when a head of 400-500 pixels is brought to 224.
    /// </summary>
    private static (RgbImage Pixels, bool[] Inside) Draw(SKBitmap image, InputRegion region, int width, int height)
    {
        ReadOnlySpan<byte> rgba = Rgba(image);
        // Read once: SKBitmap's Width and Height call into Skia.
        int imageWidth = image.Width, imageHeight = image.Height;
        var columns = AxisTaps.For(region.X, region.Width, width, imageWidth);
        var rows = AxisTaps.For(region.Y, region.Height, height, imageHeight);
        int plane = width * height;
        var planes = new byte[3 * plane];
        var inside = new bool[plane];
        // A grey image (R = G = B, as MRI slices saved as colour JPEGs are) is resampled once and copied to the
        // three planes: the resampling is most of the preparation's cost.
        int channels = IsGrey(rgba) ? 1 : 3;
        var (firstRow, lastRow) = rows.SourceRange();
        // One horizontally resampled plane per channel, for the source rows the vertical taps read.
        int sourceRows = Math.Max(1, lastRow - firstRow + 1);
        var horizontal = ArrayPool<float>.Shared.Rent(channels * sourceRows * width);
        var sums = ArrayPool<float>.Shared.Rent(width);
        try
        {
            int taps = columns.Width;
            for (int c = 0; c < channels; c++)
            {
                for (int y = firstRow; y <= lastRow; y++)
                {
                    var source = rgba.Slice(y * imageWidth * 4, imageWidth * 4);
                    var target = horizontal.AsSpan((c * sourceRows + y - firstRow) * width, width);
                    for (int ox = 0, t0 = 0; ox < width; ox++, t0 += taps)
                    {
                        float sum = 0;
                        for (int t = t0; t < t0 + taps; t++)
                        {
                            sum += columns.Weight[t] * source[4 * columns.Index[t] + c];
                        }
                        target[ox] = sum;
                    }
                }
                // Vertical pass a whole row at a time: out[oy] = sum over taps of weight x resampled source row.
                for (int oy = 0; oy < height; oy++)
                {
                    var sum = sums.AsSpan(0, width);
                    sum.Clear();
                    for (int t = oy * rows.Width; t < (oy + 1) * rows.Width; t++)
                    {
                        float weight = rows.Weight[t];
                        if (weight == 0) continue;
                        var row = horizontal.AsSpan((c * sourceRows + rows.Index[t] - firstRow) * width, width);
                        TensorPrimitives.MultiplyAdd(row, weight, sum, sum);
                    }
                    var output = planes.AsSpan(c * plane + oy * width, width);
                    for (int ox = 0; ox < width; ox++)
                    {
                        output[ox] = (byte)Math.Clamp(sum[ox] + 0.5f, 0, 255);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(horizontal);
            ArrayPool<float>.Shared.Return(sums);
        }
        for (int oy = 0; oy < height; oy++)
        {
            bool rowInside = rows.Coverage[oy] > 0.999f;
            for (int ox = 0; ox < width; ox++)
            {
                inside[oy * width + ox] = rowInside && columns.Coverage[ox] > 0.999f;
            }
        }
        if (channels == 1)
        {
            planes.AsSpan(0, plane).CopyTo(planes.AsSpan(plane, plane));
            planes.AsSpan(0, plane).CopyTo(planes.AsSpan(2 * plane, plane));
        }
        return (new RgbImage(width, height, planes), inside);
    }
}
