using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

    /// <summary>The same region in a copy of the image <paramref name="scaleX"/> times as wide and <paramref name="scaleY"/> times as high.</summary>
    public InputRegion Scaled(float scaleX, float scaleY) => new(X * scaleX, Y * scaleY, Width * scaleX, Height * scaleY);
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
        using var grey = GreyLevels.Of(image);
        var region = Crop == CropMode.Head ? SearchCopy.Of(grey).HeadRegion(CropMargin) : InputRegion.Whole(grey.Width, grey.Height);
        var (pixels, inside) = Draw(image, grey, region, width, height);
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
    public static InputRegion FindHead(SKBitmap image, double margin)
    {
        using var grey = GreyLevels.Of(image);
        return SearchCopy.Of(grey).HeadRegion(margin);
    }

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
        // Four partial histograms: MRI slices are mostly black, and counting run after run of zeros into one slot
        // makes every increment wait for the previous one.
        Span<int> partial = stackalloc int[4 * 256];
        partial.Clear();
        int p = 0;
        for (; p + 4 <= gray.Length; p += 4)
        {
            partial[gray[p]]++;
            partial[256 + gray[p + 1]]++;
            partial[512 + gray[p + 2]]++;
            partial[768 + gray[p + 3]]++;
        }
        for (; p < gray.Length; p++) partial[gray[p]]++;
        var histogram = new int[256];
        for (int v = 0; v < 256; v++)
        {
            histogram[v] = partial[v] + partial[256 + v] + partial[512 + v] + partial[768 + v];
        }
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
        private SearchCopy(GreyLevels image, byte[] gray, int[] fullHistogram, int width, int height)
        {
            Image = image;
            Gray = gray;
            FullHistogram = fullHistogram;
            Width = width;
            Height = height;
        }

        /// <summary>The full-resolution grey levels the copy was made from; <see cref="Refine"/> reads them.</summary>
        private GreyLevels Image { get; }

        public byte[] Gray { get; }

        /// <summary>Grey-level histogram of the full image.</summary>
        private int[] FullHistogram { get; }
        private int Width { get; }
        private int Height { get; }

        /// <summary>
        /// The full histogram and the small copy, each small pixel the mean of the image pixels that fall in it (an area
        /// average, which does not alias; a Skia bilinear copy did). With <see cref="GreyLevels"/> and the vectorised
        /// resampling, the head pipeline's <c>/predict</c> throughput went from 0.62 to 0.86 of the stretched pipeline's
        /// (2026-12-02, loadtests/results/head-search-20261202 and head-pipeline-vectorised-20261202). <see cref="Refine"/>
        /// finds the edges again at full resolution, so the copy only has to put the box within two of its pixels.
        /// </summary>
        public static SearchCopy Of(GreyLevels image)
        {
            int imageWidth = image.Width, imageHeight = image.Height;
            float scale = Math.Min(1f, (float)SearchSide / Math.Max(imageWidth, imageHeight));
            int w = Math.Max(1, (int)Math.Round(imageWidth * scale)), h = Math.Max(1, (int)Math.Round(imageHeight * scale));
            // The threshold comes from every pixel of the image: a small copy's histogram changes with the image's
            // size, and a threshold a few levels off moved the box by 1.5% of the head.
            var fullHistogram = Histogram(image.Pixels);
            if (w == imageWidth && h == imageHeight)
            {
                // Already small enough (a JPEG decoded at a reduced scale usually is): each small pixel is one pixel.
                return new SearchCopy(image, image.Pixels.ToArray(), fullHistogram, w, h);
            }
            // Small pixel (sx, sy) covers image columns firstColumn[sx] .. firstColumn[sx + 1] - 1, and rows likewise.
            var firstColumn = FirstOfEach(imageWidth, w);
            var firstRow = FirstOfEach(imageHeight, h);
            var gray = new byte[w * h];
            // Each band of rows is summed column by column first (no two additions wait on each other), then
            // column sums are added up per small pixel.
            var columnSums = ArrayPool<int>.Shared.Rent(imageWidth);
            for (int sy = 0; sy < h; sy++)
            {
                var band = columnSums.AsSpan(0, imageWidth);
                band.Clear();
                for (int y = firstRow[sy]; y < firstRow[sy + 1]; y++)
                {
                    AddTo(band, image.Row(y));
                }
                int rows = firstRow[sy + 1] - firstRow[sy];
                for (int sx = 0; sx < w; sx++)
                {
                    int sum = 0, count = rows * (firstColumn[sx + 1] - firstColumn[sx]);
                    foreach (int columnSum in band[firstColumn[sx]..firstColumn[sx + 1]]) sum += columnSum;
                    gray[sy * w + sx] = (byte)((sum + count / 2) / count);
                }
            }
            ArrayPool<int>.Shared.Return(columnSums);
            return new SearchCopy(image, gray, fullHistogram, w, h);
        }

        /// <summary>sums[x] += levels[x], 32 at a time where the hardware has 256-bit vectors.</summary>
        private static void AddTo(Span<int> sums, ReadOnlySpan<byte> levels)
        {
            int x = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var lanes = MemoryMarshal.Cast<int, Vector256<int>>(sums);
                for (; x + Vector256<byte>.Count <= levels.Length; x += Vector256<byte>.Count)
                {
                    var (low, high) = Vector256.Widen(Vector256.Create(levels.Slice(x)));
                    var (a, b) = Vector256.Widen(low);
                    var (c, d) = Vector256.Widen(high);
                    int lane = x / Vector256<int>.Count;
                    lanes[lane] += a.AsInt32();
                    lanes[lane + 1] += b.AsInt32();
                    lanes[lane + 2] += c.AsInt32();
                    lanes[lane + 3] += d.AsInt32();
                }
            }
            for (; x < levels.Length; x++) sums[x] += levels[x];
        }

        /// <summary>For <paramref name="cells"/> cells over <paramref name="size"/> pixels (pixel i in cell i x cells / size), each cell's first pixel, and <paramref name="size"/> last.</summary>
        private static int[] FirstOfEach(int size, int cells)
        {
            var first = new int[cells + 1];
            for (int i = size - 1; i >= 0; i--)
            {
                first[(int)((long)i * cells / size)] = i;
            }
            first[cells] = size;
            return first;
        }

        public InputRegion HeadRegion(double margin)
        {
            var whole = InputRegion.Whole(Image.Width, Image.Height);
            if (HeadThreshold(FullHistogram) is not int threshold || ForegroundBox(Gray, Width, threshold) is not { } box)
            {
                return whole;
            }
            var (x0, y0, x1, y1) = Refine(box, threshold);
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
        private (float X0, float Y0, float X1, float Y1) Refine((int Left, int Top, int Right, int Bottom) box, int threshold)
        {
            int imageWidth = Image.Width, imageHeight = Image.Height;
            float sx = (float)imageWidth / Width, sy = (float)imageHeight / Height;
            int left = Math.Max(0, (int)((box.Left - 2) * sx)), right = Math.Min(imageWidth - 1, (int)((box.Right + 3) * sx));
            int top = Math.Max(0, (int)((box.Top - 2) * sy)), bottom = Math.Min(imageHeight - 1, (int)((box.Bottom + 3) * sy));
            ReadOnlySpan<byte> pixels = Image.Pixels;
            int stride = imageWidth;
            static int Count(ReadOnlySpan<byte> pixels, int start, int step, int count, int threshold)
            {
                int n = 0;
                for (int k = 0, i = start; k < count; k++, i += step)
                {
                    if (pixels[i] > threshold) n++;
                }
                return n;
            }
            int CountColumn(ReadOnlySpan<byte> pixels, int x) => Count(pixels, top * stride + x, stride, bottom - top + 1, threshold);
            int CountRow(ReadOnlySpan<byte> pixels, int y) => Count(pixels, y * stride + left, 1, right - left + 1, threshold);
            int innerLeft = Math.Min(right, (int)((box.Left + 1) * sx)), innerRight = Math.Max(left, (int)(box.Right * sx));
            int innerTop = Math.Min(bottom, (int)((box.Top + 1) * sy)), innerBottom = Math.Max(top, (int)(box.Bottom * sy));
            int x0 = left, x1 = right, y0 = top, y1 = bottom;
            while (x0 < innerLeft && CountColumn(pixels, x0) < EdgePixels) x0++;
            while (x1 > innerRight && CountColumn(pixels, x1) < EdgePixels) x1--;
            while (y0 < innerTop && CountRow(pixels, y0) < EdgePixels) y0++;
            while (y1 > innerBottom && CountRow(pixels, y1) < EdgePixels) y1--;
            return (x0, y0, x1 + 1, y1 + 1);
        }

        private static (int Left, int Top, int Right, int Bottom)? ForegroundBox(byte[] gray, int w, int threshold)
        {
            var component = ArrayPool<int>.Shared.Rent(gray.Length);
            var (boxes, major) = MajorComponents(gray, w, threshold, component.AsSpan(0, gray.Length));
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
    /// 0 for background, numbered in the raster order of their first pixels), their bounding boxes, and the ids of the head's:
    /// the largest, and any at least <see cref="MinorComponentShare"/> of its size (burned-in letters and markers are smaller).
    /// </summary>
    /// <param name="component">Receives each pixel's component id; as long as <paramref name="gray"/>.</param>
    private static (List<(int Left, int Top, int Right, int Bottom)> Boxes, List<int> Major) MajorComponents(
        ReadOnlySpan<byte> gray, int w, int threshold, Span<int> component)
    {
        // Runs of bright pixels along each row, joined with the runs they touch in the row above (union-find, the earlier
        // run the root): a few runs per row instead of four neighbour visits per pixel, which made a flood fill 6% of /predict.
        int h = gray.Length / w, capacity = (w + 1) / 2 * h;
        var starts = ArrayPool<int>.Shared.Rent(capacity);
        var ends = ArrayPool<int>.Shared.Rent(capacity);
        var rowOf = ArrayPool<int>.Shared.Rent(capacity);
        var parent = ArrayPool<int>.Shared.Rent(capacity);
        int runs = 0, previousFirst = 0, previousEnd = 0;
        for (int y = 0; y < h; y++)
        {
            var row = gray.Slice(y * w, w);
            int first = runs, above = previousFirst;
            // Vectorised searches for where each run starts and ends; no level is above 255, so that threshold has no runs.
            for (int x = 0; threshold < byte.MaxValue && x < w;)
            {
                int skip = row[x..].IndexOfAnyInRange((byte)(threshold + 1), byte.MaxValue);
                if (skip < 0) break;
                int start = x + skip;
                int length = row[start..].IndexOfAnyInRange(byte.MinValue, (byte)threshold);
                x = length < 0 ? w : start + length;
                int run = runs++;
                starts[run] = start; ends[run] = x; rowOf[run] = y; parent[run] = run;
                // Runs above that end before this one starts cannot touch it, nor any later run of this row.
                while (above < previousEnd && ends[above] <= start) above++;
                for (int k = above; k < previousEnd && starts[k] < x; k++)
                {
                    Union(parent, k, run);
                }
            }
            previousFirst = first;
            previousEnd = runs;
        }

        component.Clear();
        var sizes = new List<int> { 0 };
        var boxes = new List<(int Left, int Top, int Right, int Bottom)> { default };
        // A root is its component's first run in raster order, so numbering roots in order numbers components by first pixel.
        var idOf = ArrayPool<int>.Shared.Rent(Math.Max(1, runs));
        for (int run = 0; run < runs; run++)
        {
            int root = Find(parent, run);
            int id;
            if (root == run)
            {
                id = idOf[run] = sizes.Count;
                sizes.Add(0);
                boxes.Add((starts[run], rowOf[run], ends[run] - 1, rowOf[run]));
            }
            else
            {
                id = idOf[run] = idOf[root];
                var box = boxes[id];
                boxes[id] = (Math.Min(box.Left, starts[run]), box.Top, Math.Max(box.Right, ends[run] - 1), rowOf[run]);
            }
            sizes[id] += ends[run] - starts[run];
            component.Slice(rowOf[run] * w + starts[run], ends[run] - starts[run]).Fill(id);
        }
        foreach (var pooled in new[] { starts, ends, rowOf, parent, idOf })
        {
            ArrayPool<int>.Shared.Return(pooled);
        }
        int largest = sizes.Max();
        var major = Enumerable.Range(1, sizes.Count - 1).Where(id => sizes[id] >= MinorComponentShare * largest).ToList();
        return (boxes, major);

        static int Find(int[] parent, int run)
        {
            while (parent[run] != run)
            {
                parent[run] = parent[parent[run]];
                run = parent[run];
            }
            return run;
        }

        static void Union(int[] parent, int a, int b)
        {
            int rootA = Find(parent, a), rootB = Find(parent, b);
            if (rootA < rootB) parent[rootB] = rootA;
            else if (rootB < rootA) parent[rootA] = rootB;
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
        var (boxes, major) = MajorComponents(gray, w, threshold, component);
        var isHead = new bool[boxes.Count];
        foreach (int id in major) isHead[id] = true;
        // Everything the border reaches without crossing the head is outside; the rest is head. An array stack and a lookup
        // by component id, since this runs on every request for the CT check.
        var outside = new bool[plane];
        var stack = new int[plane];
        int top = 0;
        void Reach(int p)
        {
            if (!outside[p] && !isHead[component[p]])
            {
                outside[p] = true;
                stack[top++] = p;
            }
        }
        for (int x = 0; x < w; x++) { Reach(x); Reach((h - 1) * w + x); }
        for (int y = 0; y < h; y++) { Reach(y * w); Reach(y * w + w - 1); }
        while (top > 0)
        {
            int p = stack[--top];
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

    /// <summary>
    /// An image's grey levels (<see cref="Grey"/>), one byte per pixel, and whether every pixel is grey (R = G = B),
    /// both from one vectorised pass over the RGBA pixels. The head search, its refinement and the resampling of a
    /// grey image all read these bytes instead of computing the level from RGBA again (a quarter of the memory to
    /// read, and no division per pixel). The buffer is pooled: dispose to return it.
    /// </summary>
    private readonly struct GreyLevels : IDisposable
    {
        private readonly byte[] buffer;

        private GreyLevels(byte[] buffer, int width, int height, bool allGrey)
        {
            this.buffer = buffer;
            Width = width;
            Height = height;
            AllGrey = allGrey;
        }

        public int Width { get; }
        public int Height { get; }
        public bool AllGrey { get; }
        public ReadOnlySpan<byte> Pixels => buffer.AsSpan(0, Width * Height);
        public ReadOnlySpan<byte> Row(int y) => buffer.AsSpan(y * Width, Width);

        public static GreyLevels Of(SKBitmap image)
        {
            // Read once: SKBitmap's Width and Height call into Skia.
            int width = image.Width, height = image.Height;
            var source = MemoryMarshal.Cast<byte, uint>(Rgba(image));
            var buffer = ArrayPool<byte>.Shared.Rent(source.Length);
            var target = buffer.AsSpan(0, source.Length);
            int lanes = Vector<uint>.Count, p = 0;
            var differences = Vector<uint>.Zero;
            if (Vector.IsHardwareAccelerated)
            {
                for (; p + 4 * lanes <= source.Length; p += 4 * lanes)
                {
                    var a = new Vector<uint>(source.Slice(p));
                    var b = new Vector<uint>(source.Slice(p + lanes));
                    var c = new Vector<uint>(source.Slice(p + 2 * lanes));
                    var d = new Vector<uint>(source.Slice(p + 3 * lanes));
                    differences |= ColourDifferences(a) | ColourDifferences(b) | ColourDifferences(c) | ColourDifferences(d);
                    Vector.Narrow(Vector.Narrow(Levels(a), Levels(b)), Vector.Narrow(Levels(c), Levels(d))).CopyTo(target.Slice(p));
                }
            }
            bool allGrey = differences == Vector<uint>.Zero;
            var rgba = MemoryMarshal.AsBytes(source);
            for (; p < source.Length; p++)
            {
                target[p] = Grey(rgba, 4 * p);
                allGrey &= rgba[4 * p] == rgba[4 * p + 1] && rgba[4 * p] == rgba[4 * p + 2];
            }
            return new GreyLevels(buffer, width, height, allGrey);
        }

        public void Dispose() => ArrayPool<byte>.Shared.Return(buffer);

        // RGBA bytes read as a little-endian uint: R in bits 0-7, G in 8-15, B in 16-23.
        private static Vector<uint> Levels(Vector<uint> rgba)
        {
            var low = new Vector<uint>(0xFF);
            var sum = (rgba & low) + ((rgba >> 8) & low) + ((rgba >> 16) & low) + Vector<uint>.One;
            // (sum * 43691) >> 17 is sum / 3 for every sum up to 2^16 (here at most 766): the same level as Grey, which was
            // checked for all 2^24 colours.
            return (sum * new Vector<uint>(43691)) >> 17;
        }

        // Non-zero where R differs from G (bits 0-7) or G from B (bits 8-15).
        private static Vector<uint> ColourDifferences(Vector<uint> rgba) => (rgba ^ (rgba >> 8)) & new Vector<uint>(0xFFFF);
    }

    /// <summary>
    /// Source pixels and their weights that make each output pixel along one axis, as flat tap-major tables of
    /// <see cref="Width"/> taps per output: the k-th tap of output <c>o</c> reads source pixel
    /// <c>Index[k * Outputs + o]</c> with weight <c>Weight[k * Outputs + o]</c>, so that one tap of consecutive
    /// outputs is one vector. Taps that fall outside the image, or pad an output to the common width, have weight
    /// 0 and a clamped index, so the inner loops need no tests.
    /// </summary>
    /// <param name="Coverage">Per output, the sum of its weights: below 1 where the footprint reaches past the image.</param>
    private sealed record AxisTaps(int Width, int Outputs, int[] Index, float[] Weight, float[] Coverage)
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
            Span<float> weights = stackalloc float[width];
            for (int o = 0; o < outputs; o++)
            {
                weights.Clear();
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
                    index[k * outputs + o] = Math.Clamp(first + k, 0, sourceSize - 1);
                    weight[k * outputs + o] = weights[k];
                    sum += weights[k];
                }
                coverage[o] = (float)sum;
            }
            return new AxisTaps(width, outputs, index, weight, coverage);
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

        /// <summary>
        /// Resamples one line of source levels: <c>target[o]</c> = the sum over taps, in tap order, of weight x level.
        /// With AVX2, eight outputs at a time, each tap's eight levels fetched with one gather; the same products
        /// summed in the same order as the scalar loop (multiply, then add: never fused), so both give the same bits.
        /// One output at a time, this pass was 1.5 of 2.9 ms preparing a 512x512 slice (2026-12-02).
        /// </summary>
        public unsafe void Apply(ReadOnlySpan<float> levels, Span<float> target)
        {
            int o = 0;
            if (Avx2.IsSupported)
            {
                fixed (float* source = levels, weight = Weight, output = target)
                fixed (int* index = Index)
                {
                    for (; o + Vector256<float>.Count <= Outputs; o += Vector256<float>.Count)
                    {
                        var sum = Vector256<float>.Zero;
                        for (int at = o; at < Index.Length; at += Outputs)
                        {
                            var level = Avx2.GatherVector256(source, Avx.LoadVector256(index + at), sizeof(float));
                            sum = Avx.Add(sum, Avx.Multiply(Avx.LoadVector256(weight + at), level));
                        }
                        Avx.Store(output + o, sum);
                    }
                }
            }
            for (; o < Outputs; o++)
            {
                float sum = 0;
                for (int at = o; at < Index.Length; at += Outputs)
                {
                    sum += Weight[at] * levels[Index[at]];
                }
                target[o] = sum;
            }
        }
    }

    /// <summary>
    /// Scales <paramref name="region"/> of the image to width x height with <see cref="AxisTaps"/> in each
    /// direction; what lies outside the image is black. Also says which input pixels lie wholly inside the
    /// image. Written out rather than drawn with Skia: Skia's mipmapped drawing cost 14 ms per image and its
    /// plain bilinear drawing aliases when a head of 400-500 pixels is brought to 224.
    /// </summary>
    private static (RgbImage Pixels, bool[] Inside) Draw(SKBitmap image, GreyLevels grey, InputRegion region, int width, int height)
    {
        int imageWidth = grey.Width, imageHeight = grey.Height;
        var columns = AxisTaps.For(region.X, region.Width, width, imageWidth);
        var rows = AxisTaps.For(region.Y, region.Height, height, imageHeight);
        int plane = width * height;
        var planes = new byte[3 * plane];
        // A grey image (R = G = B, as MRI slices saved as colour JPEGs are) is resampled once, from its grey levels
        // (which equal each channel), and copied to the three planes: the resampling is most of the preparation's cost.
        int channels = grey.AllGrey ? 1 : 3;
        var (firstRow, lastRow) = rows.SourceRange();
        // One horizontally resampled plane per channel, for the source rows the vertical taps read.
        int sourceRows = Math.Max(1, lastRow - firstRow + 1);
        var horizontal = ArrayPool<float>.Shared.Rent(channels * sourceRows * width);
        var sums = ArrayPool<float>.Shared.Rent(width);
        var levels = ArrayPool<float>.Shared.Rent(imageWidth);
        ReadOnlySpan<byte> rgba = grey.AllGrey ? default : Rgba(image);
        try
        {
            var line = levels.AsSpan(0, imageWidth);
            for (int c = 0; c < channels; c++)
            {
                for (int y = firstRow; y <= lastRow; y++)
                {
                    if (grey.AllGrey)
                    {
                        TensorPrimitives.ConvertTruncating<byte, float>(grey.Row(y), line);
                    }
                    else
                    {
                        var source = rgba.Slice(y * imageWidth * 4, imageWidth * 4);
                        for (int x = 0; x < line.Length; x++) line[x] = source[4 * x + c];
                    }
                    columns.Apply(line, horizontal.AsSpan((c * sourceRows + y - firstRow) * width, width));
                }
                // Vertical pass a whole row at a time: out[oy] = sum over taps of weight x resampled source row.
                for (int oy = 0; oy < height; oy++)
                {
                    var sum = sums.AsSpan(0, width);
                    sum.Clear();
                    for (int at = oy; at < rows.Index.Length; at += height)
                    {
                        float weight = rows.Weight[at];
                        if (weight == 0) continue;
                        var row = horizontal.AsSpan((c * sourceRows + rows.Index[at] - firstRow) * width, width);
                        TensorPrimitives.MultiplyAdd(row, weight, sum, sum);
                    }
                    Round(sum, planes.AsSpan(c * plane + oy * width, width));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(horizontal);
            ArrayPool<float>.Shared.Return(sums);
            ArrayPool<float>.Shared.Return(levels);
        }
        var inside = new bool[plane];
        var insideColumns = new bool[width];
        for (int ox = 0; ox < width; ox++)
        {
            insideColumns[ox] = columns.Coverage[ox] > 0.999f;
        }
        for (int oy = 0; oy < height; oy++)
        {
            if (rows.Coverage[oy] > 0.999f) insideColumns.CopyTo(inside.AsSpan(oy * width, width));
        }
        if (channels == 1)
        {
            planes.AsSpan(0, plane).CopyTo(planes.AsSpan(plane, plane));
            planes.AsSpan(0, plane).CopyTo(planes.AsSpan(2 * plane, plane));
        }
        return (new RgbImage(width, height, planes), inside);
    }

    /// <summary>Rounds resampled levels to bytes (half up, clamped to 0-255), eight at a time where the hardware has 256-bit vectors.</summary>
    private static void Round(ReadOnlySpan<float> levels, Span<byte> bytes)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var half = Vector256.Create(0.5f);
            var low = Vector256<float>.Zero;
            var high = Vector256.Create(255f);
            for (; i + Vector256<float>.Count <= levels.Length; i += Vector256<float>.Count)
            {
                var rounded = Vector256.ConvertToInt32(Vector256.Min(Vector256.Max(Vector256.Create(levels.Slice(i)) + half, low), high));
                for (int k = 0; k < Vector256<int>.Count; k++) bytes[i + k] = (byte)rounded.GetElement(k);
            }
        }
        for (; i < levels.Length; i++)
        {
            bytes[i] = (byte)Math.Clamp(levels[i] + 0.5f, 0, 255);
        }
    }
}
