using SkiaSharp;

namespace BrainTumor.Imaging.Rendering;

public static class ImageEncoder
{
    // zlib level 1 with the Sub filter encodes a 512x512 PNG in ~4.4 ms instead of ~20 ms with the
    // defaults (measured here), for a file about 44% larger: the right trade for a response.
    private static readonly SKPngEncoderOptions FastPng = new(SKPngEncoderFilterFlags.Sub, 1);

    public static byte[] Png(SKBitmap bitmap)
    {
        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(FastPng)
            ?? throw new InvalidOperationException("The image could not be encoded as PNG.");
        return data.ToArray();
    }
}
