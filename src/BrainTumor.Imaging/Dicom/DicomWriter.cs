using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace BrainTumor.Imaging.Dicom;

/// <summary>
/// A data set being written, explicit VR little endian: the one place where new instances get their UIDs, their copied
/// patient and study attributes and their Part 10 file (<see cref="SecondaryCapture"/> and <see cref="StructuredReport"/>).
/// An instance of this class is also a sequence item.
/// </summary>
public sealed class DicomWriter
{
    public const string ExplicitLittleUid = "1.2.840.10008.1.2.1";

    /// <summary>This implementation's class UID, under the UUID-derived root 2.25 (PS3.5 B.2), fixed once.</summary>
    public const string ImplementationClassUid = "2.25.287319410918562453018214096145263419121";

    public const uint SopClassUidTag = 0x00080016, SopInstanceUidTag = 0x00080018, StudyInstanceUidTag = 0x0020000D,
        SeriesInstanceUidTag = 0x0020000E, ModalityTag = 0x00080060;

    // Specific Character Set is type 1C: copied when the input has one, and otherwise left out (the default repertoire).
    private const uint CharacterSetTag = 0x00080005;

    /// <summary>
    /// Copied from the input when there, written empty when not (type 2 in the Patient and General Study modules), and nothing
    /// else about the patient: a new instance joins the input's study without inventing or leaking anything.
    /// </summary>
    private static readonly uint[] CopiedFromInput =
    [
        CharacterSetTag, // so that copied names keep their meaning
        0x00080020, 0x00080030, 0x00080050, 0x00080090, // Study Date, Study Time, Accession Number, Referring Physician's Name
        0x00100010, 0x00100020, 0x00100030, 0x00100040, // Patient's Name, ID, Birth Date, Sex
        StudyInstanceUidTag, 0x00200010, // Study Instance UID, Study ID
    ];

    private readonly SortedDictionary<uint, (string Vr, byte[] Value)> elements = [];

    /// <summary>A new UID under 2.25 from a random UUID (PS3.5 B.2), so that no organisation root is needed.</summary>
    public static string NewUid()
    {
        Span<byte> bytes = stackalloc byte[16];
        Guid.NewGuid().TryWriteBytes(bytes, bigEndian: true, out _);
        return "2.25." + new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
    }

    public DicomWriter Add(uint tag, string vr, byte[] value)
    {
        elements[tag] = (vr, Pad(value, vr is "UI" or "OB" ? (byte)0 : (byte)' '));
        return this;
    }

    /// <summary>A text value (CS, LO, SH, ST, LT, UT, DA, TM, IS, DS...): ASCII, anything else replaced by '?'.</summary>
    public DicomWriter Text(uint tag, string vr, string value) =>
        Add(tag, vr, Encoding.ASCII.GetBytes(new string(value.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray())));

    public DicomWriter Uid(uint tag, string uid) => Add(tag, "UI", Encoding.ASCII.GetBytes(uid));

    public DicomWriter UShort(uint tag, int value) => Add(tag, "US", BitConverter.GetBytes((ushort)value));

    /// <summary>A decimal string (DS) of at most 16 characters, as PS3.5 allows.</summary>
    public DicomWriter Decimal(uint tag, double value)
    {
        string text = value.ToString("0.############", CultureInfo.InvariantCulture);
        return Text(tag, "DS", text.Length <= 16 ? text : value.ToString("G10", CultureInfo.InvariantCulture));
    }

    /// <summary>The date and time (DA, TM) of <paramref name="moment"/> in two elements.</summary>
    public DicomWriter DateAndTime(uint dateTag, uint timeTag, DateTime moment) =>
        Text(dateTag, "DA", moment.ToString("yyyyMMdd", CultureInfo.InvariantCulture))
            .Text(timeTag, "TM", moment.ToString("HHmmss", CultureInfo.InvariantCulture));

    /// <summary>A sequence of defined-length items (possibly none: an empty type 2 sequence).</summary>
    public DicomWriter Sequence(uint tag, params IEnumerable<DicomWriter> items)
    {
        var sequence = new MemoryStream();
        foreach (var item in items)
        {
            byte[] encoded = item.Encode();
            sequence.Write(BitConverter.GetBytes((ushort)0xFFFE));
            sequence.Write(BitConverter.GetBytes((ushort)0xE000));
            sequence.Write(BitConverter.GetBytes((uint)encoded.Length));
            sequence.Write(encoded);
        }
        return Add(tag, "SQ", sequence.ToArray());
    }

    /// <summary>An item naming an instance by its SOP Class and Instance UIDs (Referenced SOP Class/Instance UID).</summary>
    public static DicomWriter Reference(string sopClass, string sopInstance) =>
        new DicomWriter().Uid(0x00081150, sopClass).Uid(0x00081155, sopInstance);

    /// <summary>The input's Patient and General Study attributes, byte for byte (see <see cref="CopiedFromInput"/>).</summary>
    public DicomWriter CopyPatientAndStudy(DicomDataset source)
    {
        foreach (uint tag in CopiedFromInput.Where(tag => tag != CharacterSetTag || source.Contains(CharacterSetTag)))
        {
            Add(tag, CopiedVr(tag), source.Bytes(tag).ToArray());
        }
        return this;
    }

    /// <summary>The Part 10 file: preamble, file meta information, then this data set with its SOP Class and Instance UIDs.</summary>
    public byte[] ToPart10(string sopClass, string sopInstance)
    {
        Uid(SopClassUidTag, sopClass).Uid(SopInstanceUidTag, sopInstance);
        var meta = new DicomWriter()
            .Add(0x00020001, "OB", [0, 1])
            .Uid(0x00020002, sopClass)
            .Uid(0x00020003, sopInstance)
            .Uid(0x00020010, ExplicitLittleUid)
            .Uid(0x00020012, ImplementationClassUid)
            .Text(0x00020013, "SH", "BRAINTUMOR")
            .Encode();
        using var file = new MemoryStream();
        file.Write(new byte[128]);
        file.Write("DICM"u8);
        WriteElement(file, 0x00020000, "UL", BitConverter.GetBytes((uint)meta.Length));
        file.Write(meta);
        file.Write(Encode());
        return file.ToArray();
    }

    private byte[] Encode()
    {
        using var stream = new MemoryStream();
        foreach (var (tag, (vr, value)) in elements)
        {
            WriteElement(stream, tag, vr, value);
        }
        return stream.ToArray();
    }

    private static string CopiedVr(uint tag) => tag switch
    {
        CharacterSetTag or 0x00100040 => "CS",
        0x00080020 or 0x00100030 => "DA",
        0x00080030 => "TM",
        0x00080050 or 0x00200010 => "SH",
        0x00080090 or 0x00100010 => "PN",
        StudyInstanceUidTag => "UI",
        _ => "LO",
    };

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
