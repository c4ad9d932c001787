using System.Buffers.Binary;
using System.Text;

namespace BrainTumor.Imaging;

/// <summary>Walks a PNG's chunk headers (length, type) without reading their data.</summary>
internal static class PngChunks
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The first ancillary chunk longer than <paramref name="limit"/> bytes, or null; not a PNG gives null.</summary>
    public static (string Type, long Length)? FindOversizedAncillary(ReadOnlySpan<byte> encoded, int limit)
    {
        if (!encoded.StartsWith(Signature))
        {
            return null;
        }
        long offset = Signature.Length;
        while (offset + 8 <= encoded.Length)
        {
            long length = BinaryPrimitives.ReadUInt32BigEndian(encoded.Slice((int)offset, 4));
            var type = encoded.Slice((int)offset + 4, 4);
            // Bit 5 of the first type byte (lower case) marks an ancillary chunk, which a decoder may skip.
            bool ancillary = (type[0] & 0x20) != 0;
            if (ancillary && length > limit)
            {
                return (Encoding.ASCII.GetString(type), length);
            }
            offset += 12 + length;
        }
        return null;
    }
}
