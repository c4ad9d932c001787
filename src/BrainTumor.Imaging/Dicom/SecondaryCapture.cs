using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using SkiaSharp;

namespace BrainTumor.Imaging.Dicom;

/// <summary>
/// A DICOM Secondary Capture image (PS3.3 A.8.1) of a rendered explanation, filed in a new series of the input's study: new SOP
/// and Series Instance UIDs, a Source Image Sequence pointing at the input, "NOT FOR DIAGNOSTIC USE" in the series description,
/// the burned-in annotation flag and the answer in the image comments. Patient and study attributes are copied from the input,
/// never invented: the Patient and General Study modules' attributes, present or empty as in the input, and nothing else.
/// Written explicit VR little endian.
/// </summary>
public static class SecondaryCapture
{
    public const string SopClassUid = "1.2.840.10008.5.1.4.1.1.7";
    private const string ExplicitLittleUid = "1.2.840.10008.1.2.1";

    // Specific Character Set is type 1C: copied when the input has one, and otherwise left out (the default repertoire).
    private const uint CharacterSetTag = 0x00080005;

    /// <summary>Copied from the input when there, written empty when not (type 2 in the Patient and General Study modules).</summary>
    private static readonly uint[] CopiedFromInput =
    [
        0x00080005, // Specific Character Set, so that copied names keep their meaning
        0x00080020, 0x00080030, 0x00080050, 0x00080090, // Study Date, Study Time, Accession Number, Referring Physician's Name
        0x00100010, 0x00100020, 0x00100030, 0x00100040, // Patient's Name, ID, Birth Date, Sex
        0x0020000D, 0x00200010, // Study Instance UID, Study ID
    ];

    /// <param name="burnedIn">Whether text is drawn in the pixels (Burned In Annotation, YES or NO).</param>
    public static byte[] Create(ReadOnlyMemory<byte> input, SKBitmap image, string comments, string derivation, bool burnedIn)
    {
        var source = DicomDataset.Parse(input);
        string sopInstance = NewUid(), series = NewUid();
        var elements = new SortedDictionary<uint, (string Vr, byte[] Value)>
        {
            [0x00080016] = ("UI", Uid(SopClassUid)),
            [0x00080018] = ("UI", Uid(sopInstance)),
            [0x00080060] = ("CS", Text("OT")),
            [0x00080064] = ("CS", Text("WSD")),
            [0x00080070] = ("LO", Text("BrainTumor")),
            [0x0008103E] = ("LO", Text("BrainTumor Grad-CAM - NOT FOR DIAGNOSTIC USE")),
            [0x00082111] = ("ST", Text(derivation)),
            [0x00082112] = ("SQ", SourceImageItem(source)),
            [0x0020000E] = ("UI", Uid(series)),
            [0x00200011] = ("IS", Text("9901")),
            [0x00200013] = ("IS", Text("1")),
            [0x00204000] = ("LT", Text(comments)),
            [0x00280002] = ("US", UShort(3)),
            [0x00280004] = ("CS", Text("RGB")),
            [0x00280006] = ("US", UShort(0)),
            [0x00280010] = ("US", UShort(image.Height)),
            [0x00280011] = ("US", UShort(image.Width)),
            [0x00280100] = ("US", UShort(8)),
            [0x00280101] = ("US", UShort(8)),
            [0x00280102] = ("US", UShort(7)),
            [0x00280103] = ("US", UShort(0)),
            [0x00280301] = ("CS", Text(burnedIn ? "YES" : "NO")),
            [DicomDataset.PixelDataTag] = ("OB", Rgb(image)),
        };
        foreach (uint tag in CopiedFromInput.Where(tag => tag != CharacterSetTag || source.Contains(CharacterSetTag)))
        {
            bool uid = tag == 0x0020000D;
            elements[tag] = (uid ? "UI" : Vr(tag), Pad(source.Bytes(tag).ToArray(), uid ? (byte)0 : (byte)' '));
        }

        using var file = new MemoryStream();
        file.Write(new byte[128]);
        file.Write("DICM"u8);
        var meta = new MemoryStream();
        WriteElement(meta, 0x00020001, "OB", [0, 1]);
        WriteElement(meta, 0x00020002, "UI", Uid(SopClassUid));
        WriteElement(meta, 0x00020003, "UI", Uid(sopInstance));
        WriteElement(meta, 0x00020010, "UI", Uid(ExplicitLittleUid));
        WriteElement(meta, 0x00020012, "UI", Uid(ImplementationClassUid));
        WriteElement(meta, 0x00020013, "SH", Text("BRAINTUMOR"));
        WriteElement(file, 0x00020000, "UL", BitConverter.GetBytes((uint)meta.Length));
        meta.WriteTo(file);
        foreach (var (tag, (vr, value)) in elements)
        {
            WriteElement(file, tag, vr, value);
        }
        return file.ToArray();
    }

    /// <summary>This implementation's class UID, under the UUID-derived root 2.25 (PS3.5 B.2), fixed once.</summary>
    public const string ImplementationClassUid = "2.25.287319410918562453018214096145263419121";

    /// <summary>A new UID under 2.25 from a random UUID (PS3.5 B.2), so that no organisation root is needed.</summary>
    public static string NewUid()
    {
        Span<byte> bytes = stackalloc byte[16];
        Guid.NewGuid().TryWriteBytes(bytes, bigEndian: true, out _);
        return "2.25." + new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
    }

    private static byte[] SourceImageItem(DicomDataset source)
    {
        var item = new MemoryStream();
        WriteElement(item, 0x00081150, "UI", Pad(source.Bytes(0x00080016).ToArray(), 0));
        WriteElement(item, 0x00081155, "UI", Pad(source.Bytes(0x00080018).ToArray(), 0));
        var sequence = new MemoryStream();
        sequence.Write(BitConverter.GetBytes((ushort)0xFFFE));
        sequence.Write(BitConverter.GetBytes((ushort)0xE000));
        sequence.Write(BitConverter.GetBytes((uint)item.Length));
        item.WriteTo(sequence);
        return sequence.ToArray();
    }

    private static string Vr(uint tag) => tag switch
    {
        0x00080005 or 0x00100040 => "CS",
        0x00080020 or 0x00100030 => "DA",
        0x00080030 => "TM",
        0x00080050 or 0x00200010 => "SH",
        0x00080090 or 0x00100010 => "PN",
        _ => "LO",
    };

    private static byte[] Rgb(SKBitmap image)
    {
        var rgb = new byte[image.Width * image.Height * 3];
        for (int y = 0; y < image.Height; y++)
        {
            for (int x = 0; x < image.Width; x++)
            {
                var colour = image.GetPixel(x, y);
                int at = 3 * (y * image.Width + x);
                (rgb[at], rgb[at + 1], rgb[at + 2]) = (colour.Red, colour.Green, colour.Blue);
            }
        }
        return Pad(rgb, 0);
    }

    private static byte[] UShort(int value) => BitConverter.GetBytes((ushort)value);

    private static byte[] Uid(string uid) => Pad(Encoding.ASCII.GetBytes(uid), 0);

    /// <summary>ASCII text, with anything outside printable ASCII replaced, padded to even length with a space.</summary>
    private static byte[] Text(string text) =>
        Pad(Encoding.ASCII.GetBytes(new string(text.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray())), (byte)' ');

    private static byte[] Pad(byte[] value, byte padding) => value.Length % 2 == 0 ? value : [.. value, padding];

    private static void WriteElement(Stream stream, uint tag, string vr, byte[] value)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)(tag >> 16));
        BinaryPrimitives.WriteUInt16LittleEndian(header[2..], (ushort)tag);
        Encoding.ASCII.GetBytes(vr, header[4..6]);
        if (DicomDataset.LongVrs.Contains(vr))
        {
            header[6] = header[7] = 0;
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)value.Length);
            stream.Write(header);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header[6..], (ushort)value.Length);
            stream.Write(header[..8]);
        }
        stream.Write(value);
    }
}
