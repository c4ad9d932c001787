namespace BrainTumor.Imaging;

/// <summary>
/// What <see cref="ImageLoader.Decode"/> accepts, checked from the header before any pixel is decoded, so that a
/// small file declaring a huge image (a decompression bomb), or one carrying megabytes of metadata, costs nothing.
/// </summary>
/// <param name="MaxSide">Largest width or height.</param>
/// <param name="MaxPixels">Largest width x height: 40 megapixels decode to 160 MB of RGBA.</param>
/// <param name="MinSide">Smallest width or height.</param>
/// <param name="MaxPngAncillaryChunkBytes">Largest PNG ancillary chunk (text, ICC profile, unknown kinds). SkiaSharp's
/// PNG decoder spent 4.8 s on a 512x512 PNG carrying a 15 MB tEXt chunk, growing with the square of its size.</param>
public sealed record ImageLimits(int MaxSide, long MaxPixels, int MinSide, int MaxPngAncillaryChunkBytes)
{
    /// <summary>Any size a file can sensibly hold: for datasets and tests.</summary>
    public static ImageLimits Default { get; } = new(8192, 40_000_000, 1, 1024 * 1024);

    /// <summary>
    /// For images sent to be classified. The smallest side in the data is 167 pixels (Testing-dev; 180 in
    /// Training); below 64 a slice would be stretched more than 3.5 times to the model's 224 pixels, into blur
    /// the models never saw, and answered as confidently as a real slice (a 1x1 image got 88%).
    /// </summary>
    public static ImageLimits Classification { get; } = Default with { MinSide = 64 };
}
