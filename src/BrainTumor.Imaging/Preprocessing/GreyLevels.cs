using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace BrainTumor.Imaging;

/// <summary>
/// An image's grey levels (<see cref="Grey(ReadOnlySpan{byte}, int)"/>), one byte per pixel, and whether every pixel is grey
/// (R = G = B), both from one vectorised pass over the RGBA pixels. The head search, its refinement and the resampling of a
/// grey image all read these bytes instead of computing the level from RGBA again (a quarter of the memory to read, and no
/// division per pixel). The buffer is pooled: dispose to return it.
/// </summary>
internal readonly struct GreyLevels : IDisposable
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

    /// <summary>The image's pixels as RGBA bytes; images decoded by <see cref="ImageLoader"/> already are.</summary>
    public static ReadOnlySpan<byte> Rgba(SKBitmap image)
    {
        if (image.ColorType != SKColorType.Rgba8888 || image.RowBytes != image.Width * 4)
        {
            throw new ArgumentException("Preprocessing needs a tightly packed RGBA bitmap, as ImageLoader.Decode returns.", nameof(image));
        }
        return image.GetPixelSpan();
    }

    /// <summary>The grey level of the RGBA pixel at byte <paramref name="i"/>: the rounded mean of its colours.</summary>
    public static byte Grey(ReadOnlySpan<byte> rgba, int i) => (byte)((rgba[i] + rgba[i + 1] + rgba[i + 2] + 1) / 3);

    /// <summary>
    /// The same grey level for pixel <paramref name="p"/> of planar RGB (<see cref="RgbImage.Planes"/>, <paramref name="plane"/>
    /// bytes per colour).
    /// </summary>
    public static byte Grey(byte[] planes, int plane, int p) => (byte)((planes[p] + planes[plane + p] + planes[2 * plane + p] + 1) / 3);
}
