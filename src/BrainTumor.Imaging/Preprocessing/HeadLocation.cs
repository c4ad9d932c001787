using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SkiaSharp;

namespace BrainTumor.Imaging;

/// <summary>
/// Where the head is: the pixels above <see cref="GreyHistogram.HeadThreshold"/>, their 4-connected components, the head's
/// among them (the largest, and any at least <see cref="MinorComponentShare"/> of its size), and from those the square the
/// head is cropped to (<see cref="CropBox(SKBitmap, double)"/>) and the head mask of a model input (<see cref="Mask"/>).
/// </summary>
public static class HeadLocation
{
    /// <summary>The head is searched on a copy at most this many pixels per side: enough for a bounding box, and cheap.</summary>
    private const int SearchSide = 256;

    /// <summary>Components smaller than this share of the largest (burned-in letters, markers, noise) do not widen the crop.</summary>
    private const double MinorComponentShare = 0.1;

    /// <summary>
    /// A row or column of the full image is part of the head when this many of its pixels are above the threshold (one is noise).
    /// </summary>
    private const int EdgePixels = 3;

    /// <summary>
    /// The square region around the head: <see cref="GreyHistogram.HeadThreshold"/> on the full image's histogram, the bounding
    /// box, on a small grey copy, of the largest 4-connected bright component (and of any component at least a tenth its size),
    /// widened by the margin. An image with no clear foreground gives the whole image.
    /// </summary>
    public static InputRegion CropBox(SKBitmap image, double margin)
    {
        using var grey = GreyLevels.Of(image);
        return CropBox(grey, margin);
    }

    internal static InputRegion CropBox(GreyLevels grey, double margin) => SearchCopy.Of(grey).HeadRegion(margin);

    /// <summary>
    /// Which pixels of a model input are head: the head's components above <see cref="GreyHistogram.HeadThreshold"/> (as the crop
    /// finds them), with the holes inside them filled, since dark tissue and fluid inside the skull are head too. All false for an
    /// input with fewer than two grey levels.
    /// </summary>
    public static bool[] Mask(RgbImage input)
    {
        int w = input.Width, h = input.Height, plane = w * h;
        var gray = new byte[plane];
        var planes = input.Planes;
        for (int p = 0; p < plane; p++)
        {
            gray[p] = GreyLevels.Grey(planes, plane, p);
        }
        var mask = new bool[plane];
        if (GreyHistogram.HeadThreshold(GreyHistogram.Of(gray)) is not int threshold)
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
        // run the root): a few runs per row instead of four neighbour visits per pixel, which made a flood fill a visible share of
        // /predict (docs/training.md, Preprocessing).
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
        /// average, which does not alias; a Skia bilinear copy did). <see cref="Refine"/> finds the edges again at full
        /// resolution, so the copy only has to put the box within two of its pixels.
        /// </summary>
        public static SearchCopy Of(GreyLevels image)
        {
            int imageWidth = image.Width, imageHeight = image.Height;
            float scale = Math.Min(1f, (float)SearchSide / Math.Max(imageWidth, imageHeight));
            int w = Math.Max(1, (int)Math.Round(imageWidth * scale)), h = Math.Max(1, (int)Math.Round(imageHeight * scale));
            // The threshold comes from every pixel of the image: a small copy's histogram changes with the image's
            // size, and a threshold a few levels off visibly moved the box.
            var fullHistogram = GreyHistogram.Of(image.Pixels);
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

        /// <summary>
        /// For <paramref name="cells"/> cells over <paramref name="size"/> pixels (pixel i in cell i x cells / size), each cell's
        /// first pixel, and <paramref name="size"/> last.
        /// </summary>
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
            if (GreyHistogram.HeadThreshold(FullHistogram) is not int threshold || ForegroundBox(Gray, Width, threshold) is not { } box)
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
        /// The box's edges found again in the full image, near where the copy put them, as the outermost rows and columns with
        /// at least <see cref="EdgePixels"/> pixels above the threshold, searched two small-copy pixels outward (the copy can
        /// miss a thin bright rim): one small-copy pixel is up to 1.5% of a head, and a head shifted by that much gave visibly
        /// different input.
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
                union = union is { } u
                    ? (Math.Min(u.Left, b.Left), Math.Min(u.Top, b.Top), Math.Max(u.Right, b.Right), Math.Max(u.Bottom, b.Bottom))
                    : b;
            }
            return union;
        }
    }
}
