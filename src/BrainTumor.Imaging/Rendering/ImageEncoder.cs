using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Numerics;
using SkiaSharp;

namespace BrainTumor.Imaging.Rendering;

/// <summary>
/// PNG for responses, written here rather than by Skia: every row with the Up filter, compressed by .NET's zlib-ng at its
/// fastest level. A 512x627 annotated overlay took 7.5 ms with Skia's fastest setting (zlib level 1) and takes about 3 ms
/// here, for a file about 35% larger (docs/operations.md#png-responses).
/// </summary>
public static class ImageEncoder
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// The bitmap as PNG: 8-bit grey for <see cref="SKColorType.Gray8"/>, RGB for an opaque <see cref="SKColorType.Rgba8888"/>
    /// bitmap, RGBA otherwise (other colour types are converted to unpremultiplied RGBA first).
    /// </summary>
    public static byte[] Png(SKBitmap bitmap)
    {
        if (bitmap.ColorType is not (SKColorType.Gray8 or SKColorType.Rgba8888) || bitmap.AlphaType == SKAlphaType.Premul)
        {
            using var converted = new SKBitmap(new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
            using var source = bitmap.PeekPixels();
            using var target = converted.PeekPixels();
            if (!source.ReadPixels(target))
            {
                throw new InvalidOperationException($"A {bitmap.ColorType} bitmap cannot be encoded as PNG.");
            }
            return Png(converted);
        }
        int width = bitmap.Width, height = bitmap.Height;
        var (colourType, channels) = bitmap.ColorType == SKColorType.Gray8 ? ((byte)0, 1)
            : bitmap.AlphaType == SKAlphaType.Opaque ? ((byte)2, 3) : ((byte)6, 4);
        int stride = 1 + channels * width;
        byte[] rows = ArrayPool<byte>.Shared.Rent(stride * height);
        try
        {
            Filter(bitmap, channels, rows.AsSpan(0, stride * height));
            using var output = new MemoryStream(stride * height / 3 + 1024);
            output.Write(Signature);
            Span<byte> header = stackalloc byte[13];
            BinaryPrimitives.WriteInt32BigEndian(header, width);
            BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
            header[8] = 8;
            header[9] = colourType;
            header[10] = header[11] = header[12] = 0;
            WriteChunk(output, "IHDR"u8, header);
            // The IDAT chunk's length is known only after compressing into it: leave room, then fill it in.
            long start = output.Position;
            output.Write(stackalloc byte[8]);
            using (var zlib = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
            {
                zlib.Write(rows, 0, stride * height);
            }
            var buffer = output.GetBuffer();
            int length = (int)(output.Position - start - 8);
            BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan((int)start), length);
            "IDAT"u8.CopyTo(buffer.AsSpan((int)start + 4));
            Span<byte> crc = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32(buffer.AsSpan((int)start + 4, length + 4)));
            output.Write(crc);
            WriteChunk(output, "IEND"u8, []);
            return output.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rows);
        }
    }

    /// <summary>Each row as PNG stores it: filter type 2 (Up), then every byte minus the one above it (modulo 256).</summary>
    private static void Filter(SKBitmap bitmap, int channels, Span<byte> rows)
    {
        int width = bitmap.Width, height = bitmap.Height, stride = 1 + channels * width;
        ReadOnlySpan<byte> pixels = bitmap.GetPixelSpan();
        int sourceStride = bitmap.RowBytes;
        int sourceChannels = bitmap.BytesPerPixel;
        for (int y = height - 1; y >= 0; y--)
        {
            var row = rows.Slice(y * stride, stride);
            row[0] = 2;
            var target = row[1..];
            var source = pixels.Slice(y * sourceStride, width * sourceChannels);
            if (channels == sourceChannels)
            {
                source.CopyTo(target);
            }
            else
            {
                // RGBA to RGB.
                for (int x = 0, i = 0, o = 0; x < width; x++, i += 4, o += 3)
                {
                    target[o] = source[i];
                    target[o + 1] = source[i + 1];
                    target[o + 2] = source[i + 2];
                }
            }
        }
        // Bottom up, so that each row is subtracted from its unfiltered neighbour above.
        for (int y = height - 1; y > 0; y--)
        {
            var target = rows.Slice(y * stride + 1, stride - 1);
            var above = rows.Slice((y - 1) * stride + 1, stride - 1);
            int i = 0;
            for (; i + Vector<byte>.Count <= target.Length; i += Vector<byte>.Count)
            {
                (new Vector<byte>(target[i..]) - new Vector<byte>(above[i..])).CopyTo(target[i..]);
            }
            for (; i < target.Length; i++)
            {
                target[i] -= above[i];
            }
        }
    }

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        var crc = new Crc32();
        crc.Append(type);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc.GetCurrentHashAsUInt32());
        output.Write(word);
    }
}
