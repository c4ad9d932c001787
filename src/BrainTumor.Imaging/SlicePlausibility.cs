using System.Runtime.InteropServices;
using SkiaSharp;

namespace BrainTumor.Imaging;

/// <summary>Why an image was refused before any model ran: a problem title and one sentence.</summary>
public sealed record SliceRefusal(string Title, string Detail)
{
    public const string NotASlice = "Not an MRI slice";
    public const string NotGreyscale = "Not a greyscale MRI slice";
    public const string LooksLikeCt = "This looks like CT; the models read MRI";
}

/// <summary>
/// Checks, before any model runs, that a decoded image could be a brain MRI slice at all: not a strip, not a blank
/// frame, not a colour picture, not a head CT. These images would otherwise get one of the four labels with high confidence (an 8192x1
/// strip was "meningioma" at 0.83; skimage's coffee cup and cat passed the out-of-distribution guard).
/// </summary>
public static class SlicePlausibility
{
    /// <summary>Widest width-to-height (or height-to-width) ratio accepted. The widest image in the data is 1.78:1
    /// (Training and Testing-dev, measured 2026-12-02).</summary>
    public const double MaxAspectRatio = 3.0;

    /// <summary>Smallest standard deviation of the grey levels (0-255) accepted. The flattest image in the data has 21.</summary>
    public const double MinGreyLevelDeviation = 3.0;

    /// <summary>
    /// A pixel is clearly coloured when its red, green and blue differ by more than this (0-255). Every pixel of the 2,870
    /// Training and 126 Testing-dev images differs by 0 (measured 2026-12-05); JPEG's colour noise on a grey slice stays
    /// within a few levels.
    /// </summary>
    public const int ColouredPixelSpread = 24;

    /// <summary>
    /// Largest share of clearly coloured pixels accepted: a coloured annotation or marker on a grey slice passes, a
    /// colour photograph does not (skimage's photographs: 0.05 for the Hubble deep field, mostly black sky, to 0.96).
    /// </summary>
    public const double MaxColouredShare = 0.02;

    /// <summary>
    /// Largest <see cref="SkullRing.BrightRingShare"/> accepted: above it, most of the head's edge is a bright skull with the brain
    /// directly inside, as on CT. Measured 2026-12-05 (data/modality/README.md): the 2,834 MRI slices of Training reach at most 0.58,
    /// 33 of its 36 head CT slices 0.63 or more.
    /// </summary>
    public const double MaxBrightRingShare = 0.6;

    // Enough pixels for the deviation to be exact to well under a grey level, at a cost that does not grow with the image.
    private const int SampledPixels = 16_384;

    /// <summary>
    /// Modalities whose images are accepted: MR, and the capture modalities under which viewers and PACS store screenshots
    /// of MR slices (OT other, SC secondary capture).
    /// </summary>
    public static IReadOnlySet<string> AcceptedModalities { get; } = new HashSet<string>(StringComparer.Ordinal) { "MR", "OT", "SC" };

    /// <summary>Why a DICOM file of this Modality (0008,0060) cannot be an MRI slice; null when it can, or names none.</summary>
    private static SliceRefusal? Modality(string? modality) => modality switch
    {
        null or "" => null,
        "CT" => new(SliceRefusal.LooksLikeCt, "The DICOM file's Modality is CT; the models were trained on MRI slices only."),
        _ when AcceptedModalities.Contains(modality) => null,
        _ => new(SliceRefusal.NotASlice, $"The DICOM file's Modality is {modality}; the models read MRI (MR) slices only."),
    };

    /// <summary>Why the image cannot be a slice; null when it could be one.</summary>
    /// <param name="modality">The DICOM file's Modality, when the image came from one.</param>
    public static SliceRefusal? Problem(SKBitmap image, string? modality = null)
    {
        if (Modality(modality) is { } wrongModality)
        {
            return wrongModality;
        }
        double ratio = (double)Math.Max(image.Width, image.Height) / Math.Min(image.Width, image.Height);
        if (ratio > MaxAspectRatio)
        {
            return new(SliceRefusal.NotASlice,
                $"The image is {image.Width}x{image.Height}, {ratio:0.#}:1; an MRI slice is at most {MaxAspectRatio:0}:1.");
        }
        var sample = Sample(image);
        if (sample.ColouredShare > MaxColouredShare)
        {
            return new(SliceRefusal.NotGreyscale,
                $"{sample.ColouredShare * 100:0}% of the image's pixels are clearly coloured " +
                $"(at most {MaxColouredShare * 100:0}% is accepted); an MRI slice is grey.");
        }
        if (sample.Deviation < MinGreyLevelDeviation)
        {
            return new(SliceRefusal.NotASlice,
                $"The image is almost uniform (grey levels vary by {sample.Deviation:0.0} around their mean, " +
                $"at least {MinGreyLevelDeviation:0} is needed); it shows no slice.");
        }
        // A DICOM file that says MR is believed over the picture: the ring is evidence only where nothing better is known.
        double ring = modality == "MR" || sample.TopLevelShare < SkullRing.MinTopLevelShare ? 0 : SkullRing.BrightRingShare(image);
        if (ring > MaxBrightRingShare)
        {
            return new(SliceRefusal.LooksLikeCt,
                $"The skull is a bright ring with the brain directly inside it along {ring * 100:0}% of the head's edge " +
                $"(at most {MaxBrightRingShare * 100:0}% is accepted); MRI shows bone dark.");
        }
        return null;
    }

    /// <summary>
    /// The standard deviation of the grey levels (as <see cref="GreyLevels"/> computes them) over a regular sample of the pixels.
    /// </summary>
    public static double GreyLevelDeviation(SKBitmap image) => Sample(image).Deviation;

    /// <summary>The share of a regular sample of the pixels whose colours differ by more than <see cref="ColouredPixelSpread"/>.</summary>
    public static double ColouredShare(SKBitmap image) => Sample(image).ColouredShare;

    private static (double Deviation, double ColouredShare, double TopLevelShare) Sample(SKBitmap image)
    {
        // Two partial histograms, alternating: a slice is mostly black, and counting run after run of zeros into one slot makes
        // every increment wait for the previous one (as in GreyHistogram.Of).
        Span<int> partial = stackalloc int[2 * 256];
        partial.Clear();
        ReadOnlySpan<byte> rgba = GreyLevels.Rgba(image);
        var pixels = MemoryMarshal.Cast<byte, uint>(rgba);
        // SKBitmap's Width and Height call into Skia; read once, not per pixel (per pixel they cost 6 ms on a 512x512 slice).
        int width = image.Width, height = image.Height;
        int step = Math.Max(1, (int)Math.Sqrt((double)width * height / SampledPixels));
        // Integer sums: exact, so the same as summing the levels as doubles.
        long sum = 0, squares = 0, count = 0, coloured = 0;
        for (int y = 0; y < height; y += step)
        {
            var row = pixels.Slice(y * width, width);
            for (int x = 0; x < width; x += step)
            {
                uint pixel = row[x];
                int grey;
                // RGBA read little-endian: R in bits 0-7, G in 8-15, B in 16-23. A grey pixel's level is R, and its spread 0.
                if (((pixel ^ (pixel >> 8)) & 0xFFFF) == 0)
                {
                    grey = (int)(pixel & 0xFF);
                }
                else
                {
                    int i = (y * width + x) * 4;
                    grey = GreyLevels.Grey(rgba, i);
                    int spread = Math.Max(rgba[i], Math.Max(rgba[i + 1], rgba[i + 2]))
                        - Math.Min(rgba[i], Math.Min(rgba[i + 1], rgba[i + 2]));
                    coloured += spread > ColouredPixelSpread ? 1 : 0;
                }
                partial[(int)(count & 1) * 256 + grey]++;
                sum += grey;
                squares += grey * grey;
                count++;
            }
        }
        Span<int> histogram = stackalloc int[256];
        for (int v = 0; v < 256; v++)
        {
            histogram[v] = partial[v] + partial[256 + v];
        }
        double mean = (double)sum / count;
        return (Math.Sqrt(Math.Max((double)squares / count - mean * mean, 0)), (double)coloured / count,
            SkullRing.TopLevelShare(histogram));
    }
}
