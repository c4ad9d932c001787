using System.Buffers.Binary;

namespace BrainTumor.Imaging.Dicom;

/// <summary>The DICOM RLE Lossless decoder (PS3.5 Annex G): one segment per byte of each sample, most significant first.</summary>
internal static class Rle
{
    /// <summary>
    /// One frame as sample planes of little-endian samples: plane s holds sample s of every pixel, so a monochrome frame reads
    /// as native little-endian data and a colour frame as planar configuration 1.
    /// </summary>
    public static byte[] DecodeFrame(ReadOnlyMemory<byte> frame, DicomImage.PixelModule pixels)
    {
        var data = frame.Span;
        int bytesPerSample = pixels.BitsAllocated / 8;
        int segments = pixels.SamplesPerPixel * bytesPerSample;
        int count = pixels.Rows * pixels.Columns;
        if (data.Length < 64)
        {
            throw Corrupt("the RLE frame is shorter than its 64-byte header");
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(data) != segments)
        {
            throw Corrupt($"the RLE header lists {BinaryPrimitives.ReadUInt32LittleEndian(data)} segments; {segments} are needed");
        }
        var output = new byte[count * segments];
        for (int segment = 0; segment < segments; segment++)
        {
            int start = (int)BinaryPrimitives.ReadUInt32LittleEndian(data[(4 + 4 * segment)..]);
            int end = segment + 1 < segments ? (int)BinaryPrimitives.ReadUInt32LittleEndian(data[(8 + 4 * segment)..]) : data.Length;
            if (start < 64 || end > data.Length || end < start)
            {
                throw Corrupt($"RLE segment {segment + 1} lies outside the frame");
            }
            int sample = segment / bytesPerSample, significance = segment % bytesPerSample;
            int planeStart = sample * count * bytesPerSample, byteInSample = bytesPerSample - 1 - significance;
            Unpack(data[start..end], count, (pixel, value) => output[planeStart + pixel * bytesPerSample + byteInSample] = value);
        }
        return output;
    }

    /// <summary>PackBits: n in 0..127 copies the next n+1 bytes, n in -127..-1 repeats the next byte 1-n times, -128 does
    /// nothing.</summary>
    private static void Unpack(ReadOnlySpan<byte> segment, int count, Action<int, byte> write)
    {
        int written = 0, at = 0;
        while (written < count && at < segment.Length)
        {
            sbyte header = (sbyte)segment[at++];
            if (header >= 0)
            {
                int run = header + 1;
                if (at + run > segment.Length)
                {
                    throw Corrupt("an RLE literal run ends past its segment");
                }
                for (int i = 0; i < run && written < count; i++)
                {
                    write(written++, segment[at + i]);
                }
                at += run;
            }
            else if (header != -128)
            {
                if (at >= segment.Length)
                {
                    throw Corrupt("an RLE replicate run has no byte to repeat");
                }
                byte value = segment[at++];
                for (int i = 0; i < 1 - header && written < count; i++)
                {
                    write(written++, value);
                }
            }
        }
        if (written < count)
        {
            throw Corrupt($"an RLE segment decodes to {written:N0} of {count:N0} bytes");
        }
    }

    private static ImageDecodeException Corrupt(string why) => new(ImageProblem.Corrupt, $"Not a readable DICOM file: {why}.");
}
