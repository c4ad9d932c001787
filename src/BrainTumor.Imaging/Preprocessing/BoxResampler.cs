using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SkiaSharp;

namespace BrainTumor.Imaging;

/// <summary>
/// Scales a region of an image to a model input's size with an exact box filter (linear interpolation when enlarging);
/// what lies outside the image is black.
/// </summary>
internal static class BoxResampler
{
    /// <summary>
    /// Scales <paramref name="region"/> of the image to width x height with <see cref="AxisTaps"/> in each
    /// direction; what lies outside the image is black. Also says which input pixels lie wholly inside the
    /// image (the first width x height of a pooled array: give it back to <see cref="ArrayPool{T}.Shared"/>). Written out rather
    /// than drawn with Skia: Skia's mipmapped drawing was slow and its plain bilinear
    /// drawing aliases when a head of 400-500 pixels is brought to 224.
    /// </summary>
    public static (RgbImage Pixels, bool[] Inside) Resample(SKBitmap image, GreyLevels grey, InputRegion region, int width, int height,
        byte[]? planes = null)
    {
        int imageWidth = grey.Width, imageHeight = grey.Height;
        var columns = AxisTaps.For(region.X, region.Width, width, imageWidth);
        var rows = AxisTaps.For(region.Y, region.Height, height, imageHeight);
        int plane = width * height;
        // Every byte is written below, so the planes need not be cleared first.
        planes ??= GC.AllocateUninitializedArray<byte>(3 * plane);
        // A grey image (R = G = B, as MRI slices saved as colour JPEGs are) is resampled once, from its grey levels
        // (which equal each channel), and copied to the three planes: the resampling is most of the preparation's cost.
        int channels = grey.AllGrey ? 1 : 3;
        var (firstRow, lastRow) = rows.SourceRange();
        // One horizontally resampled plane per channel, for the source rows the vertical taps read.
        int sourceRows = Math.Max(1, lastRow - firstRow + 1);
        var horizontal = ArrayPool<float>.Shared.Rent(channels * sourceRows * width);
        var sums = ArrayPool<float>.Shared.Rent(width);
        var levels = ArrayPool<float>.Shared.Rent(imageWidth);
        ReadOnlySpan<byte> rgba = grey.AllGrey ? default : GreyLevels.Rgba(image);
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
        var inside = ArrayPool<bool>.Shared.Rent(plane);
        inside.AsSpan(0, plane).Clear();
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

    /// <summary>
    /// Rounds resampled levels to bytes (half up, clamped to 0-255), 32 at a time where the hardware has 256-bit vectors.
    /// </summary>
    private static void Round(ReadOnlySpan<float> levels, Span<byte> bytes)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            const int Step = 4 * 8;
            for (; i + Step <= levels.Length; i += Step)
            {
                // Clamped to 0-255 first, so narrowing int to short to byte keeps every value.
                var low = Vector256.Narrow(Rounded(levels.Slice(i)), Rounded(levels.Slice(i + 8)));
                var high = Vector256.Narrow(Rounded(levels.Slice(i + 16)), Rounded(levels.Slice(i + 24)));
                Vector256.Narrow(low.AsUInt16(), high.AsUInt16()).CopyTo(bytes.Slice(i));
            }
        }
        for (; i < levels.Length; i++)
        {
            bytes[i] = (byte)Math.Clamp(levels[i] + 0.5f, 0, 255);
        }
    }

    private static Vector256<int> Rounded(ReadOnlySpan<float> levels) =>
        Vector256.ConvertToInt32(Vector256.Min(Vector256.Max(Vector256.Create(levels) + Vector256.Create(0.5f), Vector256<float>.Zero),
            Vector256.Create(255f)));

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
}
