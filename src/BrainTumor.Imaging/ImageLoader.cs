using SkiaSharp;

namespace BrainTumor.Imaging;

/// <summary>A decoded image and, for a DICOM file, what it says about itself.</summary>
/// <param name="FullSize">The image's upright size as stored: larger than <paramref name="Bitmap"/>'s when a JPEG was decoded at a reduced
/// scale.</param>
public sealed record DecodedImage(SKBitmap Bitmap, Dicom.DicomImageInfo? Dicom, SKSizeI FullSize);

/// <summary>
/// Decodes uploaded or stored images and brings them to a model's input size. Training and serving both
/// go through here, so a pixel is prepared the same way in both.
/// </summary>
public static class ImageLoader
{
    private static readonly SKSamplingOptions Bilinear = new(SKFilterMode.Linear, SKMipmapMode.None);

    /// <summary>File name extensions of the formats <see cref="Decode"/> reads, for finding images in folders.</summary>
    public static IReadOnlySet<string> FileExtensions { get; } =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".bmp", ".webp", ".dcm" };

    /// <summary>The extensions as a person reads them in a message: ".jpg, .jpeg, ...".</summary>
    public static string FileExtensionList => string.Join(", ", FileExtensions);

    public static bool IsImageFile(string path) => FileExtensions.Contains(Path.GetExtension(path));

    /// <summary>
    /// Decodes JPEG, PNG, BMP or WebP into an upright RGBA bitmap: the EXIF orientation is applied and
    /// grayscale or palette images are expanded to colour. A DICOM Part 10 file is rendered by <see cref="Dicom.DicomImage"/>
    /// with its own window and middle frame. The header is checked against <paramref name="limits"/>
    /// (default <see cref="ImageLimits.Default"/>) before any pixel is decoded.
    /// </summary>
    /// <param name="atLeast">The size the caller needs, such as a model's input (upright); null for the full size. A JPEG at least
    /// twice as large on each side is decoded smaller (<see cref="JpegScales"/>); other formats and DICOM always at full size.</param>
    public static SKBitmap Decode(ReadOnlySpan<byte> encoded, ImageLimits? limits = null, SKSizeI? atLeast = null) =>
        DecodeWithDicomInfo(encoded, limits, atLeast).Bitmap;

    /// <summary><see cref="Decode"/>, with what a DICOM file says about itself (null for other formats).</summary>
    public static DecodedImage DecodeWithDicomInfo(ReadOnlySpan<byte> encoded, ImageLimits? limits = null, SKSizeI? atLeast = null)
    {
        limits ??= ImageLimits.Default;
        if (encoded.IsEmpty)
        {
            throw new ImageDecodeException(ImageProblem.Empty, "The image is empty (0 bytes).");
        }
        if (Dicom.DicomDataset.IsPart10(encoded))
        {
            var (pixels, dicom) = Dicom.DicomImage.Decode(encoded.ToArray(), limits: limits);
            return new DecodedImage(pixels, dicom, new SKSizeI(pixels.Width, pixels.Height));
        }
        if (PngChunks.FindOversizedAncillary(encoded, limits.MaxPngAncillaryChunkBytes) is var (chunk, length))
        {
            throw new ImageDecodeException(ImageProblem.OversizedMetadata,
                $"The PNG carries a '{chunk}' chunk of {length:N0} bytes; " +
                $"at most {limits.MaxPngAncillaryChunkBytes:N0} are accepted in a chunk that is not pixels.");
        }
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data)
            ?? throw new ImageDecodeException(ImageProblem.UnsupportedFormat,
                "The bytes are not a JPEG, PNG, BMP or WebP image or a DICOM Part 10 file.");
        if (!IsSupported(codec.EncodedFormat))
        {
            throw new ImageDecodeException(ImageProblem.UnsupportedFormat,
                $"Images in {codec.EncodedFormat} format are not supported; send JPEG, PNG, BMP, WebP or DICOM.");
        }
        if (codec.FrameCount > 1)
        {
            // An animation is not a slice; taking its first frame silently would answer a question nobody asked.
            throw new ImageDecodeException(ImageProblem.UnsupportedFormat,
                $"The image is animated ({codec.FrameCount} frames); send one still slice.");
        }
        int width = codec.Info.Width, height = codec.Info.Height;
        if (width > limits.MaxSide || height > limits.MaxSide)
        {
            throw new ImageDecodeException(ImageProblem.TooLarge,
                $"The image declares {width}x{height} pixels; at most {limits.MaxSide} per side are accepted.");
        }
        if ((long)width * height > limits.MaxPixels)
        {
            throw new ImageDecodeException(ImageProblem.TooLarge,
                $"The image declares {width}x{height} = {(long)width * height:N0} pixels; " +
                $"at most {limits.MaxPixels:N0} in all are accepted.");
        }
        if (width < limits.MinSide || height < limits.MinSide)
        {
            throw new ImageDecodeException(ImageProblem.TooSmall,
                $"The image is {width}x{height} pixels; at least {limits.MinSide} per side are needed for a brain MRI slice.");
        }

        var size = atLeast is { } needed && codec.EncodedFormat == SKEncodedImageFormat.Jpeg
            ? JpegDecodeSize(codec, needed)
            : codec.Info.Size;
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
        {
            bitmap.Dispose();
            throw new ImageDecodeException(ImageProblem.Corrupt, $"The image could not be decoded ({result}).");
        }
        if (result == SKCodecResult.IncompleteInput)
        {
            bitmap.Dispose();
            throw new ImageDecodeException(ImageProblem.Corrupt, "The image is truncated.");
        }
        var upright = SwapsAxes(codec.EncodedOrigin) ? new SKSizeI(height, width) : new SKSizeI(width, height);
        return new DecodedImage(Orient(bitmap, codec.EncodedOrigin), null, upright);
    }

    /// <summary>
    /// The reductions libjpeg-turbo makes inside its inverse DCT, smallest first: 1/8 keeps only each block's mean, 1/4 and 1/2 use
    /// 2x2 and 4x4 transforms, each far cheaper than a full decode. (Skia also offers 3/8, 5/8, 3/4 and 7/8, which save less.)
    /// </summary>
    public static IReadOnlyList<float> JpegScales { get; } = [1f / 8, 1f / 4, 1f / 2];

    /// <summary>
    /// The smallest of <see cref="JpegScales"/> whose decoded image is at least <paramref name="needed"/> on each side (compared
    /// upright, after the EXIF orientation), or the full size.
    /// </summary>
    private static SKSizeI JpegDecodeSize(SKCodec codec, SKSizeI needed)
    {
        if (SwapsAxes(codec.EncodedOrigin))
        {
            needed = new SKSizeI(needed.Height, needed.Width);
        }
        foreach (float scale in JpegScales)
        {
            var size = codec.GetScaledDimensions(scale);
            if (size.Width >= needed.Width && size.Height >= needed.Height)
            {
                return size;
            }
        }
        return codec.Info.Size;
    }

    /// <summary>
    /// Stretches the image to exactly <paramref name="width"/>x<paramref name="height"/> with bilinear
    /// filtering. No letterbox: padding would leave borders whose size tells the image's original shape,
    /// which a model could learn instead of anatomy.
    /// </summary>
    /// <param name="planes">Where to write the pixels (3 x width x height bytes, all overwritten); null allocates them.</param>
    public static RgbImage Resize(SKBitmap bitmap, int width, int height, byte[]? planes = null)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "The target size must be positive.");
        }
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        if (bitmap.Width == width && bitmap.Height == height && bitmap.ColorType == SKColorType.Rgba8888)
        {
            return ToPlanarRgb(bitmap, planes);
        }
        using var resized = bitmap.Resize(info, Bilinear)
            ?? throw new ImageDecodeException(ImageProblem.Corrupt, "The image could not be resized.");
        return ToPlanarRgb(resized, planes);
    }

    public static RgbImage DecodeAndResize(ReadOnlySpan<byte> encoded, int width, int height)
    {
        using var bitmap = Decode(encoded);
        return Resize(bitmap, width, height);
    }

    private static bool IsSupported(SKEncodedImageFormat format) =>
        format is SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Png or SKEncodedImageFormat.Bmp or SKEncodedImageFormat.Webp;

    private static RgbImage ToPlanarRgb(SKBitmap bitmap, byte[]? planes)
    {
        int pixels = bitmap.Width * bitmap.Height;
        planes ??= new byte[3 * pixels];
        ReadOnlySpan<byte> rgba = bitmap.GetPixelSpan();
        for (int i = 0, p = 0; p < pixels; i += 4, p++)
        {
            planes[p] = rgba[i];
            planes[pixels + p] = rgba[i + 1];
            planes[2 * pixels + p] = rgba[i + 2];
        }
        return new RgbImage(bitmap.Width, bitmap.Height, planes);
    }

    private static bool SwapsAxes(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    /// <summary>Redraws the stored pixels so that the image is upright as its EXIF orientation says.</summary>
    private static SKBitmap Orient(SKBitmap bitmap, SKEncodedOrigin origin)
    {
        if (origin == SKEncodedOrigin.TopLeft)
        {
            return bitmap;
        }
        float w = bitmap.Width, h = bitmap.Height;
        bool swapsAxes = SwapsAxes(origin);
        // Each matrix maps a stored pixel (x, y) to its upright position (x', y').
        SKMatrix matrix = origin switch
        {
            SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
            SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
            SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
            _ => SKMatrix.Identity,
        };
        var upright = new SKBitmap(new SKImageInfo(
            swapsAxes ? bitmap.Height : bitmap.Width, swapsAxes ? bitmap.Width : bitmap.Height,
            SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(upright))
        using (var image = SKImage.FromBitmap(bitmap))
        {
            canvas.SetMatrix(matrix);
            canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest));
        }
        bitmap.Dispose();
        return upright;
    }
}
