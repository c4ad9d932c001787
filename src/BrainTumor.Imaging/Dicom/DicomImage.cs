using System.Buffers.Binary;
using SkiaSharp;

namespace BrainTumor.Imaging.Dicom;

/// <summary>The window that mapped stored values to grey levels: from the file, from the request, or a percentile fallback.</summary>
public sealed record DicomWindow(double Center, double Width, string Function, string Source);

/// <summary>What an integrator needs to link an answer back to its image, and how the image was rendered; no patient attribute.</summary>
/// <param name="Modality">The file's Modality (0008,0060), such as MR or CT, when it has one.</param>
public sealed record DicomImageInfo(
    string TransferSyntaxUid, string TransferSyntax, int Frame, int Frames, string Photometric, DicomWindow? Window,
    string? StudyInstanceUid, string? SeriesInstanceUid, string? SopInstanceUid, string? Warning, string? Modality = null);

/// <param name="Frame">1-based frame of a multi-frame image; the middle one when null.</param>
/// <param name="Window">Center and width to use instead of the file's first window.</param>
public sealed record DicomReadOptions(int? Frame = null, (double Center, double Width)? Window = null);

/// <summary>
/// Renders a DICOM image (PS3.3 C.7.6.3 Image Pixel module) to an 8-bit RGBA bitmap: stored values with Bits Stored and
/// High Bit honoured, the modality rescale, the VOI window (the file's first, the request's, or the 1st-99th percentile),
/// MONOCHROME1 inverted, RGB and YBR_FULL in either planar configuration.
/// </summary>
public static class DicomImage
{
    private const uint RowsTag = 0x00280010, ColumnsTag = 0x00280011, SamplesPerPixelTag = 0x00280002, PhotometricTag = 0x00280004,
        PlanarConfigurationTag = 0x00280006, NumberOfFramesTag = 0x00280008, BitsAllocatedTag = 0x00280100, BitsStoredTag = 0x00280101,
        HighBitTag = 0x00280102, PixelRepresentationTag = 0x00280103, WindowCenter = 0x00281050, WindowWidth = 0x00281051,
        RescaleIntercept = 0x00281052, RescaleSlope = 0x00281053, VoiLutFunction = 0x00281056, ImageOrientationPatient = 0x00200037,
        StudyInstanceUid = 0x0020000D, SeriesInstanceUid = 0x0020000E, SopInstanceUid = 0x00080018, ModalityTag = 0x00080060;

    public const string MediaType = "application/dicom";

    public static (SKBitmap Bitmap, DicomImageInfo Info) Decode(ReadOnlyMemory<byte> file, DicomReadOptions? options = null,
        ImageLimits? limits = null)
    {
        options ??= new DicomReadOptions();
        var dataset = DicomDataset.Parse(file);
        var pixels = PixelModule.Read(dataset, limits ?? ImageLimits.Default);
        int frame = options.Frame ?? (pixels.Frames + 1) / 2;
        if (frame < 1 || frame > pixels.Frames)
        {
            throw new ImageDecodeException(ImageProblem.NoSuchFrame,
                $"Frame {frame} was asked for; the image has frames 1 to {pixels.Frames}.");
        }
        DicomWindow? window = null;
        SKBitmap bitmap;
        if (pixels.SamplesPerPixel == 1)
        {
            var values = ModalityValues(dataset, pixels, frame);
            window = ChooseWindow(dataset, pixels, options, values);
            bitmap = Grey(values, pixels, window);
        }
        else
        {
            bitmap = Colour(dataset, pixels, frame);
        }
        var info = new DicomImageInfo(dataset.Syntax.Uid, dataset.Syntax.Name, frame, pixels.Frames, pixels.Photometric, window,
            dataset.String(StudyInstanceUid), dataset.String(SeriesInstanceUid), dataset.String(SopInstanceUid),
            OrientationWarning(dataset), dataset.String(ModalityTag) is { Length: > 0 } modality ? modality.Trim() : null);
        return (bitmap, info);
    }

    /// <summary>The stored values of one monochrome frame after the modality rescale, row by row.</summary>
    public static double[] ModalityValues(ReadOnlyMemory<byte> file, int frame = 1)
    {
        var dataset = DicomDataset.Parse(file);
        return ModalityValues(dataset, PixelModule.Read(dataset, ImageLimits.Default), frame);
    }

    private static double[] ModalityValues(DicomDataset dataset, PixelModule pixels, int frame)
    {
        if (pixels.SamplesPerPixel != 1)
        {
            throw new ImageDecodeException(ImageProblem.UnsupportedFormat,
                $"Modality values are defined for monochrome images, not {pixels.Photometric}.");
        }
        double slope = dataset.Numbers(RescaleSlope) is [var s, ..] ? s : 1;
        double intercept = dataset.Numbers(RescaleIntercept) is [var i, ..] ? i : 0;
        var bytes = FrameBytes(dataset, pixels, frame, out bool bigEndian).Span;
        int count = pixels.Rows * pixels.Columns;
        var values = new double[count];
        int shift = pixels.HighBit + 1 - pixels.BitsStored;
        uint mask = pixels.BitsStored >= 32 ? uint.MaxValue : (1u << pixels.BitsStored) - 1;
        for (int p = 0; p < count; p++)
        {
            uint raw = pixels.BitsAllocated == 8 ? bytes[p]
                : bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(bytes[(2 * p)..])
                : BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * p)..]);
            uint stored = (raw >> shift) & mask;
            long value = pixels.Signed && (stored & (1u << (pixels.BitsStored - 1))) != 0 ? stored - (1L << pixels.BitsStored) : stored;
            values[p] = value * slope + intercept;
        }
        return values;
    }

    private static ReadOnlyMemory<byte> FrameBytes(DicomDataset dataset, PixelModule pixels, int frame, out bool bigEndian)
    {
        bigEndian = dataset.Syntax.BigEndian;
        // YBR_FULL_422 stores two samples per pixel: two Y share one Cb and one Cr (PS3.3 C.7.6.3.1.2).
        int samplesStored = pixels.Photometric == "YBR_FULL_422" ? 2 : pixels.SamplesPerPixel;
        int frameBytes = pixels.Rows * pixels.Columns * samplesStored * (pixels.BitsAllocated / 8);
        switch (dataset.Syntax.Pixels)
        {
            case PixelEncoding.Native:
                var data = dataset.Bytes(DicomDataset.PixelDataTag);
                long promised = (long)frameBytes * pixels.Frames;
                if (data.Length < promised)
                {
                    throw new ImageDecodeException(ImageProblem.Corrupt,
                        $"Not a readable DICOM file: the pixel data has {data.Length:N0} bytes; the header promises {promised:N0}.");
                }
                var frameData = data.Slice((frame - 1) * frameBytes, frameBytes);
                if (bigEndian && pixels.BitsAllocated == 8 && dataset.Vr(DicomDataset.PixelDataTag) == "OW")
                {
                    // 8-bit samples in a big-endian OW value sit in byte-swapped 16-bit words (PS3.5 section 8.1.1).
                    var swapped = frameData.ToArray();
                    for (int i = 0; i + 1 < swapped.Length; i += 2)
                    {
                        (swapped[i], swapped[i + 1]) = (swapped[i + 1], swapped[i]);
                    }
                    return swapped;
                }
                return frameData;
            case PixelEncoding.Rle:
                bigEndian = false;
                return Rle.DecodeFrame(FrameFragments(dataset, pixels, frame), pixels);
            default:
                return JpegFrame(FrameFragments(dataset, pixels, frame), pixels, dataset.Syntax);
        }
    }

    /// <summary>
    /// An 8-bit JPEG frame decoded by SkiaSharp (libjpeg-turbo) into native-layout samples: grey, or RGB with the decoder's
    /// YCbCr conversion already applied. libjpeg-turbo here reads 8-bit samples only, so 12-bit Extended JPEG is refused.
    /// </summary>
    private static byte[] JpegFrame(ReadOnlyMemory<byte> jpeg, PixelModule pixels, TransferSyntax syntax)
    {
        if (pixels.BitsStored > 8)
        {
            throw new ImageDecodeException(ImageProblem.UnsupportedFormat,
                $"{syntax.Name} ({syntax.Uid}) with {pixels.BitsStored}-bit samples is not supported; 8-bit JPEG is.");
        }
        using var bitmap = ImageLoader.Decode(jpeg.Span);
        if (bitmap.Width != pixels.Columns || bitmap.Height != pixels.Rows)
        {
            throw new ImageDecodeException(ImageProblem.Corrupt,
                $"Not a readable DICOM file: the JPEG frame is {bitmap.Width}x{bitmap.Height}; " +
                $"the header says {pixels.Columns}x{pixels.Rows}.");
        }
        int count = pixels.Rows * pixels.Columns;
        var samples = new byte[count * pixels.SamplesPerPixel];
        for (int p = 0; p < count; p++)
        {
            var colour = bitmap.GetPixel(p % pixels.Columns, p / pixels.Columns);
            if (pixels.SamplesPerPixel == 1)
            {
                samples[p] = colour.Red;
            }
            else
            {
                (samples[3 * p], samples[3 * p + 1], samples[3 * p + 2]) = (colour.Red, colour.Green, colour.Blue);
            }
        }
        return samples;
    }

    /// <summary>The encapsulated bytes of one frame: by the offset table, one fragment per frame, or all fragments for one frame.</summary>
    private static ReadOnlyMemory<byte> FrameFragments(DicomDataset dataset, PixelModule pixels, int frame)
    {
        var (offsetTable, fragments) = dataset.Encapsulated
            ?? throw new ImageDecodeException(ImageProblem.Corrupt,
                $"Not a readable DICOM file: {dataset.Syntax.Name} needs encapsulated pixel data.");
        if (fragments.Count == pixels.Frames)
        {
            return fragments[frame - 1];
        }
        if (pixels.Frames == 1)
        {
            return fragments.SelectMany(f => f.ToArray()).ToArray();
        }
        if (offsetTable.Length == 4 * pixels.Frames)
        {
            var offsets = Enumerable.Range(0, pixels.Frames)
                .Select(i => BinaryPrimitives.ReadUInt32LittleEndian(offsetTable.Span[(4 * i)..])).ToArray();
            var joined = new List<byte>();
            long position = 0;
            foreach (var fragment in fragments)
            {
                if (position >= offsets[frame - 1] && (frame == pixels.Frames || position < offsets[frame]))
                {
                    joined.AddRange(fragment.ToArray());
                }
                position += 8 + fragment.Length;
            }
            return joined.ToArray();
        }
        throw new ImageDecodeException(ImageProblem.Corrupt,
            $"Not a readable DICOM file: {fragments.Count} fragments for {pixels.Frames} frames and no usable offset table.");
    }

    private static DicomWindow ChooseWindow(DicomDataset dataset, PixelModule pixels, DicomReadOptions options, double[] values)
    {
        string function = dataset.String(VoiLutFunction)?.ToUpperInvariant() ?? "LINEAR";
        if (options.Window is var (center, width))
        {
            return new DicomWindow(center, width, "LINEAR", "request");
        }
        if (dataset.Numbers(WindowCenter) is [var c, ..] && dataset.Numbers(WindowWidth) is [var w, ..] && w >= 1)
        {
            return new DicomWindow(c, w, function is "LINEAR_EXACT" or "SIGMOID" ? function : "LINEAR", "file");
        }
        bool rescaled = dataset.Numbers(RescaleSlope) is [var slope, ..] && slope != 1
            || dataset.Numbers(RescaleIntercept) is [var intercept, ..] && intercept != 0;
        if (pixels.BitsStored <= 8 && !pixels.Signed && !rescaled)
        {
            // Unsigned 8-bit grey levels are already display values (a JPEG or PNG slice wrapped as DICOM): kept as they are,
            // so that the wrapped slice gets the same answer as the slice itself.
            return new DicomWindow(127.5, 255, "LINEAR_EXACT", "8-bit values as stored");
        }
        // No window in the file: the 1st to 99th percentile, so that a few extreme values do not flatten the rest.
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        double low = sorted[(int)(0.01 * (sorted.Length - 1))], high = sorted[(int)(0.99 * (sorted.Length - 1))];
        return new DicomWindow((low + high) / 2, Math.Max(high - low, 1), "LINEAR_EXACT", "percentile");
    }

    /// <summary>The VOI LUT functions of PS3.3 C.11.2.1.2, to 0-255.</summary>
    private static byte Windowed(double x, DicomWindow window)
    {
        double c = window.Center, w = window.Width, y;
        switch (window.Function)
        {
            case "SIGMOID":
                y = 255 / (1 + Math.Exp(-4 * (x - c) / w));
                break;
            case "LINEAR_EXACT":
                y = x <= c - w / 2 ? 0 : x > c + w / 2 ? 255 : ((x - c) / w + 0.5) * 255;
                break;
            default:
                y = x <= c - 0.5 - (w - 1) / 2 ? 0 : x > c - 0.5 + (w - 1) / 2 ? 255 : ((x - (c - 0.5)) / (w - 1) + 0.5) * 255;
                break;
        }
        return (byte)Math.Clamp(Math.Round(y), 0, 255);
    }

    private static SKBitmap Grey(double[] values, PixelModule pixels, DicomWindow window)
    {
        var bitmap = new SKBitmap(new SKImageInfo(pixels.Columns, pixels.Rows, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var rgba = bitmap.GetPixelSpan();
        bool inverted = pixels.Photometric == "MONOCHROME1";
        for (int p = 0; p < values.Length; p++)
        {
            byte grey = Windowed(values[p], window);
            if (inverted)
            {
                grey = (byte)(255 - grey);
            }
            rgba[4 * p] = rgba[4 * p + 1] = rgba[4 * p + 2] = grey;
            rgba[4 * p + 3] = 255;
        }
        return bitmap;
    }

    private static SKBitmap Colour(DicomDataset dataset, PixelModule pixels, int frame)
    {
        if (pixels.BitsAllocated != 8)
        {
            throw new ImageDecodeException(ImageProblem.UnsupportedFormat,
                $"{pixels.Photometric} images with {pixels.BitsAllocated} bits allocated are not supported; 8 are.");
        }
        var bytes = FrameBytes(dataset, pixels, frame, out _).Span;
        // RLE frames come out as colour planes (PS3.5 G.2), whatever the planar configuration says.
        bool planar = dataset.Syntax.Pixels == PixelEncoding.Rle
            || pixels.PlanarConfiguration == 1 && dataset.Syntax.Pixels == PixelEncoding.Native;
        // The JPEG decoder has already turned YCbCr into RGB.
        bool ybr = pixels.Photometric.StartsWith("YBR_FULL", StringComparison.Ordinal) && dataset.Syntax.Pixels != PixelEncoding.Jpeg;
        int count = pixels.Rows * pixels.Columns;
        var bitmap = new SKBitmap(new SKImageInfo(pixels.Columns, pixels.Rows, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var rgba = bitmap.GetPixelSpan();
        for (int p = 0; p < count; p++)
        {
            byte a, b, c;
            if (pixels.Photometric == "YBR_FULL_422" && dataset.Syntax.Pixels == PixelEncoding.Native)
            {
                // Two pixels share one Cb and Cr: Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2).
                int pair = (p / 2) * 4;
                (a, b, c) = (bytes[pair + p % 2], bytes[pair + 2], bytes[pair + 3]);
            }
            else
            {
                (a, b, c) = planar
                    ? (bytes[p], bytes[count + p], bytes[2 * count + p])
                    : (bytes[3 * p], bytes[3 * p + 1], bytes[3 * p + 2]);
            }
            if (ybr)
            {
                // ITU-R BT.601 full range (PS3.3 C.7.6.3.1.2).
                double y = a, cb = b - 128.0, cr = c - 128.0;
                (a, b, c) = (Byte(y + 1.402 * cr), Byte(y - 0.344136 * cb - 0.714136 * cr), Byte(y + 1.772 * cb));
            }
            rgba[4 * p] = a;
            rgba[4 * p + 1] = b;
            rgba[4 * p + 2] = c;
            rgba[4 * p + 3] = 255;
        }
        return bitmap;
    }

    private static byte Byte(double value) => (byte)Math.Clamp(Math.Round(value), 0, 255);

    private static string? OrientationWarning(DicomDataset dataset)
    {
        if (dataset.Numbers(ImageOrientationPatient) is not [var rx, var ry, var rz, var cx, var cy, var cz])
        {
            return null;
        }
        double nx = Math.Abs(ry * cz - rz * cy), ny = Math.Abs(rz * cx - rx * cz), nz = Math.Abs(rx * cy - ry * cx);
        if (nz >= nx && nz >= ny)
        {
            return null;
        }
        string plane = nx >= ny ? "sagittal" : "coronal";
        return $"Image Orientation (Patient) shows a {plane} slice; " +
            "the models were trained on axial slices, so the answer may not mean anything.";
    }

    /// <summary>The Image Pixel module's attributes, checked before any pixel is decoded.</summary>
    internal sealed record PixelModule(
        int Rows, int Columns, int SamplesPerPixel, string Photometric, int BitsAllocated, int BitsStored, int HighBit, bool Signed,
        int PlanarConfiguration, int Frames)
    {
        public static PixelModule Read(DicomDataset dataset, ImageLimits limits)
        {
            if (!dataset.Contains(DicomDataset.PixelDataTag))
            {
                throw new ImageDecodeException(ImageProblem.UnsupportedFormat,
                    "The DICOM file has no pixel data (7FE0,0010); it is not an image.");
            }
            int rows = dataset.UShort(RowsTag) ?? 0, columns = dataset.UShort(ColumnsTag) ?? 0;
            if (rows == 0 || columns == 0)
            {
                throw new ImageDecodeException(ImageProblem.Corrupt,
                    "Not a readable DICOM file: Rows (0028,0010) or Columns (0028,0011) is missing or 0.");
            }
            if (rows > limits.MaxSide || columns > limits.MaxSide || (long)rows * columns > limits.MaxPixels)
            {
                throw new ImageDecodeException(ImageProblem.TooLarge,
                    $"The DICOM image declares {columns}x{rows} pixels; " +
                    $"at most {limits.MaxSide} per side and {limits.MaxPixels:N0} in all are accepted.");
            }
            if (rows < limits.MinSide || columns < limits.MinSide)
            {
                throw new ImageDecodeException(ImageProblem.TooSmall,
                    $"The image is {columns}x{rows} pixels; at least {limits.MinSide} per side are needed for a brain MRI slice.");
            }
            int samples = dataset.UShort(SamplesPerPixelTag) ?? 1;
            string photometric = dataset.String(PhotometricTag) ?? (samples == 1 ? "MONOCHROME2" : "RGB");
            bool supported = samples == 1 ? photometric is "MONOCHROME1" or "MONOCHROME2"
                : samples == 3 && photometric is "RGB" or "YBR_FULL" or "YBR_FULL_422";
            if (!supported)
            {
                throw new ImageDecodeException(ImageProblem.UnsupportedFormat,
                    $"Photometric interpretation {photometric} with {samples} samples per pixel is not supported; " +
                    "MONOCHROME1, MONOCHROME2, RGB and YBR_FULL are.");
            }
            int allocated = dataset.UShort(BitsAllocatedTag) ?? 0;
            if (allocated is not (8 or 16))
            {
                throw new ImageDecodeException(ImageProblem.UnsupportedFormat,
                    $"Images with {allocated} bits allocated per sample are not supported; 8 and 16 are.");
            }
            int stored = dataset.UShort(BitsStoredTag) ?? allocated;
            int highBit = dataset.UShort(HighBitTag) ?? stored - 1;
            if (stored < 1 || stored > allocated || highBit < stored - 1 || highBit >= allocated)
            {
                throw new ImageDecodeException(ImageProblem.Corrupt,
                    $"Not a readable DICOM file: Bits Stored {stored} and High Bit {highBit} do not fit in {allocated} bits allocated.");
            }
            double[] frames = dataset.Numbers(NumberOfFramesTag);
            int frameCount = frames is [var f, ..] ? (int)f : 1;
            if (frameCount < 1)
            {
                throw new ImageDecodeException(ImageProblem.Corrupt, $"Not a readable DICOM file: Number of Frames is {frameCount}.");
            }
            return new PixelModule(rows, columns, samples, photometric, allocated, stored, highBit,
                dataset.UShort(PixelRepresentationTag) == 1, dataset.UShort(PlanarConfigurationTag) ?? 0, frameCount);
        }
    }
}
