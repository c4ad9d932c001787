using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace BrainTumor.Imaging.Dicom;

/// <summary>
/// The top-level elements of a DICOM Part 10 file (PS3.10 section 7), read strictly: every length is checked against
/// the bytes that are there, sequences are walked (not kept) to a bounded depth, and encapsulated pixel data is kept as
/// its fragments. Values are decoded on demand in the file's byte order.
/// </summary>
public sealed class DicomDataset
{
    public const uint PixelDataTag = 0x7FE00010;
    private const uint ItemTag = 0xFFFEE000, ItemDelimiterTag = 0xFFFEE00D, SequenceDelimiterTag = 0xFFFEE0DD;
    private const uint Undefined = 0xFFFFFFFF;
    private const int MaxSequenceDepth = 16;

    /// <summary>A deflated data set may inflate to at most this many bytes (a deflate bomb costs nothing).</summary>
    public const int MaxInflatedBytes = 256 * 1024 * 1024;

    // Explicit VRs with a 2-byte reserved field and a 4-byte length (PS3.5 section 7.1.2).
    internal static readonly HashSet<string> LongVrs = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"];

    private readonly Dictionary<uint, (string Vr, ReadOnlyMemory<byte> Value)> elements = [];

    public TransferSyntax Syntax { get; }

    /// <summary>Encapsulated pixel data: the basic offset table and the fragments after it; null for native pixel data.</summary>
    public (ReadOnlyMemory<byte> OffsetTable, IReadOnlyList<ReadOnlyMemory<byte>> Fragments)? Encapsulated { get; private set; }

    private DicomDataset(TransferSyntax syntax) => Syntax = syntax;

    /// <summary>True when the bytes start with a Part 10 preamble: 128 bytes, then "DICM".</summary>
    public static bool IsPart10(ReadOnlySpan<byte> bytes) => bytes.Length >= 132 && bytes.Slice(128, 4).SequenceEqual("DICM"u8);

    public static DicomDataset Parse(ReadOnlyMemory<byte> file)
    {
        if (!IsPart10(file.Span))
        {
            throw Corrupt("the file has no DICOM Part 10 preamble (128 bytes, then 'DICM'); send a Part 10 file");
        }
        // The file meta information is always explicit VR little endian (PS3.10 section 7.1).
        var meta = new DicomDataset(new TransferSyntax("meta", "file meta information", true, false, false, PixelEncoding.Native));
        int position = 132;
        while (position + 4 <= file.Length && BinaryPrimitives.ReadUInt16LittleEndian(file.Span[position..]) == 0x0002)
        {
            position = meta.ReadElement(file, position, depth: 0, keep: true);
        }
        string uid = meta.String(0x00020010) ?? throw Corrupt("the file meta information has no Transfer Syntax UID (0002,0010)");
        var dataset = new DicomDataset(TransferSyntax.Find(uid));
        var body = file[position..];
        if (dataset.Syntax.Deflated)
        {
            body = Inflate(body);
        }
        for (int at = 0; at < body.Length;)
        {
            at = dataset.ReadElement(body, at, depth: 0, keep: true);
        }
        return dataset;
    }

    private static byte[] Inflate(ReadOnlyMemory<byte> deflated)
    {
        using var input = new DeflateStream(new MemoryStream(deflated.ToArray()), CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = new byte[81920];
        try
        {
            for (int read; (read = input.Read(buffer)) > 0;)
            {
                if (output.Length + read > MaxInflatedBytes)
                {
                    throw new ImageDecodeException(ImageProblem.TooLarge,
                        $"The deflated DICOM data set inflates to more than {MaxInflatedBytes:N0} bytes.");
                }
                output.Write(buffer, 0, read);
            }
        }
        catch (InvalidDataException)
        {
            throw Corrupt("the deflated data set is not valid deflate data");
        }
        return output.ToArray();
    }

    private ushort U16(ReadOnlySpan<byte> bytes) =>
        Syntax.BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(bytes) : BinaryPrimitives.ReadUInt16LittleEndian(bytes);

    /// <summary>The (group, element) tag at <paramref name="position"/> as one number, group in the high half.</summary>
    private uint ReadTag(ReadOnlySpan<byte> span, int position) => ((uint)U16(span[position..]) << 16) | U16(span[(position + 2)..]);

    private uint U32(ReadOnlySpan<byte> bytes) =>
        Syntax.BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes);

    /// <summary>Reads the element at <paramref name="position"/> and returns the position after it.</summary>
    private int ReadElement(ReadOnlyMemory<byte> data, int position, int depth, bool keep, bool implicitVr = false)
    {
        var span = data.Span;
        Need(span, position, 8, "an element header");
        uint tag = ReadTag(span, position);
        string vr;
        uint length;
        int valueStart;
        if (tag is ItemTag or ItemDelimiterTag or SequenceDelimiterTag)
        {
            throw Corrupt($"an item or delimiter ({Tag(tag)}) stands where an element was expected");
        }
        if (Syntax.ExplicitVr && !implicitVr)
        {
            vr = Encoding.ASCII.GetString(span.Slice(position + 4, 2));
            if (LongVrs.Contains(vr))
            {
                Need(span, position, 12, "an element header");
                length = U32(span[(position + 8)..]);
                valueStart = position + 12;
            }
            else
            {
                length = U16(span[(position + 6)..]);
                valueStart = position + 8;
            }
        }
        else
        {
            vr = tag == PixelDataTag ? "OW" : "UN";
            length = U32(span[(position + 4)..]);
            valueStart = position + 8;
        }

        if (length == Undefined)
        {
            if (tag == PixelDataTag && depth == 0)
            {
                return ReadEncapsulated(data, valueStart);
            }
            if (vr is "SQ" or "UN")
            {
                // An undefined-length UN in explicit VR is a sequence encoded implicit VR little endian (PS3.5 section 6.2.2).
                return SkipSequence(data, valueStart, depth + 1, implicitVr || vr == "UN" && Syntax.ExplicitVr);
            }
            throw Corrupt($"element {Tag(tag)} ({vr}) has an undefined length, which only sequences and pixel data may have");
        }
        if ((long)valueStart + length > data.Length)
        {
            throw Corrupt($"element {Tag(tag)} declares {length:N0} bytes but only {Math.Max(0, data.Length - valueStart):N0} remain " +
                "(the file is truncated)");
        }
        if (keep && depth == 0)
        {
            elements[tag] = (vr, data.Slice(valueStart, (int)length));
        }
        return valueStart + (int)length;
    }

    private int SkipSequence(ReadOnlyMemory<byte> data, int position, int depth, bool implicitVr)
    {
        if (depth > MaxSequenceDepth)
        {
            throw Corrupt($"sequences are nested more than {MaxSequenceDepth} deep");
        }
        while (true)
        {
            var span = data.Span;
            Need(span, position, 8, "a sequence item");
            uint tag = ReadTag(span, position);
            uint length = U32(span[(position + 4)..]);
            position += 8;
            if (tag == SequenceDelimiterTag)
            {
                return position;
            }
            if (tag != ItemTag)
            {
                throw Corrupt($"a sequence holds {Tag(tag)} where an item was expected");
            }
            if (length != Undefined)
            {
                if ((long)position + length > data.Length)
                {
                    throw Corrupt("a sequence item runs past the end of the file");
                }
                position += (int)length;
                continue;
            }
            while (true)
            {
                Need(data.Span, position, 8, "an item's element");
                uint inner = ReadTag(data.Span, position);
                if (inner == ItemDelimiterTag)
                {
                    position += 8;
                    break;
                }
                position = ReadElement(data, position, depth, keep: false, implicitVr);
            }
        }
    }

    private int ReadEncapsulated(ReadOnlyMemory<byte> data, int position)
    {
        var items = new List<ReadOnlyMemory<byte>>();
        while (true)
        {
            var span = data.Span;
            Need(span, position, 8, "a pixel data fragment");
            uint tag = ReadTag(span, position);
            uint length = U32(span[(position + 4)..]);
            position += 8;
            if (tag == SequenceDelimiterTag)
            {
                break;
            }
            if (tag != ItemTag || length == Undefined)
            {
                throw Corrupt($"encapsulated pixel data holds {Tag(tag)} where a fragment of defined length was expected");
            }
            if ((long)position + length > data.Length)
            {
                throw Corrupt($"a pixel data fragment declares {length:N0} bytes but only {data.Length - position:N0} remain " +
                    "(the file is truncated)");
            }
            items.Add(data.Slice(position, (int)length));
            position += (int)length;
        }
        if (items.Count == 0)
        {
            throw Corrupt("encapsulated pixel data has no basic offset table item");
        }
        Encapsulated = (items[0], items.Skip(1).ToList());
        elements[PixelDataTag] = ("OB", ReadOnlyMemory<byte>.Empty);
        return position;
    }

    private static void Need(ReadOnlySpan<byte> span, int position, int bytes, string what)
    {
        if (position + bytes > span.Length)
        {
            throw Corrupt($"the file ends inside {what} (the file is truncated)");
        }
    }

    private static string Tag(uint tag) => $"({tag >> 16:X4},{tag & 0xFFFF:X4})";

    private static ImageDecodeException Corrupt(string why) => new(ImageProblem.Corrupt, $"Not a readable DICOM file: {why}.");

    public bool Contains(uint tag) => elements.ContainsKey(tag);

    /// <summary>The value representation the file gave <paramref name="tag"/> ("UN" for implicit VR files).</summary>
    public string? Vr(uint tag) => elements.TryGetValue(tag, out var element) ? element.Vr : null;

    public ReadOnlyMemory<byte> Bytes(uint tag) => elements.TryGetValue(tag, out var element) ? element.Value : ReadOnlyMemory<byte>.Empty;

    /// <summary>A text value (UI, CS, LO...), with DICOM's trailing padding removed; null when absent or empty.</summary>
    public string? String(uint tag)
    {
        if (!elements.TryGetValue(tag, out var element))
        {
            return null;
        }
        string text = Encoding.ASCII.GetString(element.Value.Span).TrimEnd('\0', ' ').TrimStart(' ');
        return text.Length == 0 ? null : text;
    }

    /// <summary>An unsigned 16-bit value (US), or null when absent.</summary>
    public ushort? UShort(uint tag) =>
        elements.TryGetValue(tag, out var element) && element.Value.Length >= 2 ? U16(element.Value.Span) : null;

    /// <summary>The numbers of a DS or IS value (backslash-separated decimal strings); empty when absent.</summary>
    public double[] Numbers(uint tag)
    {
        if (String(tag) is not string text)
        {
            return [];
        }
        var values = new List<double>();
        foreach (string part in text.Split('\\'))
        {
            if (!double.TryParse(part.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
                || !double.IsFinite(value))
            {
                throw Corrupt($"element {Tag(tag)} holds '{part.Trim()}', which is not a number");
            }
            values.Add(value);
        }
        return [.. values];
    }
}
