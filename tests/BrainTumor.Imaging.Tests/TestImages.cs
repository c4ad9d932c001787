using SkiaSharp;

namespace BrainTumor.Imaging.Tests;

/// <summary>Builds small encoded images with known content.</summary>
internal static class TestImages
{
    public static readonly SKColor Red = new(220, 30, 30);
    public static readonly SKColor Blue = new(30, 30, 220);

    /// <summary>Left half red, right half blue.</summary>
    public static SKBitmap TwoHalves(int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, x < width / 2 ? Red : Blue);
            }
        }
        return bitmap;
    }

    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality = 95)
    {
        using var data = bitmap.Encode(format, quality);
        return data.ToArray();
    }

    /// <summary>An uncompressed 24-bit BMP (SkiaSharp decodes BMP but cannot write it).</summary>
    public static byte[] Bmp(SKBitmap bitmap)
    {
        int rowSize = (bitmap.Width * 3 + 3) & ~3;
        int pixelBytes = rowSize * bitmap.Height;
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write((byte)'B');
        writer.Write((byte)'M');
        writer.Write(54 + pixelBytes);
        writer.Write(0);
        writer.Write(54);
        writer.Write(40);
        writer.Write(bitmap.Width);
        writer.Write(bitmap.Height);
        writer.Write((short)1);
        writer.Write((short)24);
        writer.Write(0);
        writer.Write(pixelBytes);
        writer.Write(2835);
        writer.Write(2835);
        writer.Write(0);
        writer.Write(0);
        for (int y = bitmap.Height - 1; y >= 0; y--)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                var color = bitmap.GetPixel(x, y);
                writer.Write(color.Blue);
                writer.Write(color.Green);
                writer.Write(color.Red);
            }
            for (int pad = bitmap.Width * 3; pad < rowSize; pad++)
            {
                writer.Write((byte)0);
            }
        }
        return stream.ToArray();
    }

    /// <summary>Inserts an EXIF APP1 segment with the given orientation right after the JPEG's SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        byte[] tiff =
        [
            (byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, // little-endian TIFF header, first IFD at 8
            1, 0,                                   // one entry
            0x12, 0x01, 3, 0, 1, 0, 0, 0,           // tag 0x0112 Orientation, SHORT, count 1
            (byte)orientation, (byte)(orientation >> 8), 0, 0,
            0, 0, 0, 0,                             // no next IFD
        ];
        byte[] exif = [.. "Exif\0\0"u8.ToArray(), .. tiff];
        int length = exif.Length + 2;
        byte[] segment = [0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. exif];
        return [.. jpeg.AsSpan(0, 2), .. segment, .. jpeg.AsSpan(2)];
    }
}
