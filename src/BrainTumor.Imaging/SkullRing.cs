using SkiaSharp;

namespace BrainTumor.Imaging;

/// <summary>
/// How much of a head's edge looks like CT's skull. CT shows bone as the brightest tissue: the skull is a bright ring at the head's
/// edge with the brain directly inside it. MRI shows cortical bone dark: inside the bright scalp there is a dark band before the
/// brain. Measured on a small head crop, along rays from the head's centre.
/// </summary>
public static class SkullRing
{
    /// <summary>The side of the head crop the rays are cast on.</summary>
    public const int CropSize = 128;

    private const int Rays = 64;
    // Along a ray, samples are half a pixel apart: 60 samples reach 30 px (about a quarter of the head) inside its edge.
    private const int ProfileLength = 60;
    // The ring must start within 10 px of the edge, and the 4 px inside it are where MRI's dark band of bone lies.
    private const int RingStartWithin = 20;
    private const int BandLength = 8;
    // Pixels deeper than this inside the head are brain, whose median the band is compared with.
    private const int BrainDepth = 12;
    private const double RingEndFraction = 0.8;
    private const double DarkBandFraction = 0.45;

    /// <summary>
    /// Smallest <see cref="TopLevelShare"/> at which the rays are worth casting: a CT skull is a plateau at the top grey level. The
    /// Training CT slices the rule refuses have 0.10 or more; 93% of its MRI slices have less than this, and skip the rays
    /// (measured 2026-12-05 on decodes scaled to at least 128 px, data/modality/README.md).
    /// </summary>
    public const double MinTopLevelShare = 0.02;

    private static readonly Preprocessing HeadCrop = new(CropMode.Head, 0.04, IntensityMode.None);

    /// <summary>
    /// From a histogram of grey levels: the share of the pixels above <see cref="GreyHistogram.HeadThreshold"/> that lie within 12
    /// levels of their 99.9th percentile. 0 when the histogram has no head.
    /// </summary>
    public static double TopLevelShare(ReadOnlySpan<int> histogram)
    {
        if (GreyHistogram.HeadThreshold(histogram) is not int threshold)
        {
            return 0;
        }
        var head = histogram[(threshold + 1)..];
        int count = 0;
        foreach (int n in head) count += n;
        if (count == 0)
        {
            return 0;
        }
        int top = threshold + 1 + Level(head, count, 0.999), near = 0;
        for (int level = Math.Max(threshold + 1, top - 12); level < 256; level++) near += histogram[level];
        return (double)near / count;
    }

    /// <summary>
    /// The share of rays from the head's centre on which the head's brightest grey level (its 99.9th percentile, less 3) is reached
    /// within 10 px of the edge, and the 4 px just inside that bright ring stay above 0.45 of the brain's median grey level: bone
    /// with the brain directly inside it. 0 when no head is found.
    /// </summary>
    public static double BrightRingShare(SKBitmap image)
    {
        var pixels = HeadCrop.Prepare(image, CropSize, CropSize).Pixels;
        var mask = HeadLocation.Mask(pixels);
        const int side = CropSize, count = side * side;
        var planes = pixels.Planes;
        Span<byte> grey = stackalloc byte[count];
        Span<int> histogram = stackalloc int[256];
        histogram.Clear();
        double sumX = 0, sumY = 0;
        int inside = 0;
        for (int p = 0; p < count; p++)
        {
            grey[p] = (byte)((planes[p] + planes[count + p] + planes[2 * count + p] + 1) / 3);
            if (mask[p])
            {
                histogram[grey[p]]++;
                sumX += p % side;
                sumY += p / side;
                inside++;
            }
        }
        if (inside < 100)
        {
            return 0;
        }
        int bright = Level(histogram, inside, 0.999) - 3;
        double brain = BrainMedian(grey, mask);
        double centreX = sumX / inside, centreY = sumY / inside;

        Span<byte> profile = stackalloc byte[ProfileLength];
        int ringRays = 0;
        for (int ray = 0; ray < Rays; ray++)
        {
            double angle = 2 * Math.PI * ray / Rays, dx = Math.Cos(angle), dy = Math.Sin(angle);
            int length = 0;
            // From outside the crop inwards: the profile starts at the first head pixel the ray meets.
            for (double t = side; t >= 0 && length < ProfileLength; t -= 0.5)
            {
                int x = (int)(centreX + dx * t), y = (int)(centreY + dy * t);
                if (x < 0 || y < 0 || x >= side || y >= side) continue;
                int p = y * side + x;
                if (length == 0 && !mask[p]) continue;
                profile[length++] = grey[p];
            }
            var samples = profile[..length];
            int start = samples[..Math.Min(length, RingStartWithin + 1)].IndexOfAnyInRange((byte)Math.Clamp(bright, 0, 255), (byte)255);
            if (start < 0)
            {
                continue;
            }
            int end = start;
            while (end < length && samples[end] >= RingEndFraction * bright) end++;
            if (end + BandLength > length)
            {
                continue;
            }
            int darkest = 255;
            foreach (byte level in samples.Slice(end, BandLength)) darkest = Math.Min(darkest, level);
            ringRays += darkest >= DarkBandFraction * brain ? 1 : 0;
        }
        return (double)ringRays / Rays;
    }

    /// <summary>The grey level below which <paramref name="fraction"/> of the counted pixels lie.</summary>
    private static int Level(ReadOnlySpan<int> histogram, int total, double fraction)
    {
        int rank = (int)(total * fraction), seen = 0;
        for (int level = 0; level < 256; level++)
        {
            seen += histogram[level];
            if (seen > rank) return level;
        }
        return 255;
    }

    /// <summary>
    /// The median grey level of the head's pixels more than <see cref="BrainDepth"/> px (4-connected steps) from its edge; 0 when
    /// there are none.
    /// </summary>
    private static double BrainMedian(ReadOnlySpan<byte> grey, bool[] mask)
    {
        const int side = CropSize;
        Span<short> depth = stackalloc short[side * side];
        for (int y = 0; y < side; y++)
        {
            for (int x = 0; x < side; x++)
            {
                int p = y * side + x;
                if (!mask[p]) { depth[p] = 0; continue; }
                int d = x == 0 || y == 0 || x == side - 1 || y == side - 1 ? 1 : short.MaxValue;
                if (x > 0) d = Math.Min(d, depth[p - 1] + 1);
                if (y > 0) d = Math.Min(d, depth[p - side] + 1);
                depth[p] = (short)d;
            }
        }
        Span<int> histogram = stackalloc int[256];
        histogram.Clear();
        int count = 0;
        for (int y = side - 1; y >= 0; y--)
        {
            for (int x = side - 1; x >= 0; x--)
            {
                int p = y * side + x;
                if (depth[p] == 0) continue;
                int d = depth[p];
                if (x < side - 1) d = Math.Min(d, depth[p + 1] + 1);
                if (y < side - 1) d = Math.Min(d, depth[p + side] + 1);
                depth[p] = (short)d;
                if (d > BrainDepth)
                {
                    histogram[grey[p]]++;
                    count++;
                }
            }
        }
        return count == 0 ? 0 : Level(histogram, count, 0.5);
    }
}
