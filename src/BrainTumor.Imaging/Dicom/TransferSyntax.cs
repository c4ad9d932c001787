namespace BrainTumor.Imaging.Dicom;

/// <summary>How a DICOM data set and its pixels are encoded (PS3.5 section 10 and Annex A).</summary>
public sealed record TransferSyntax(string Uid, string Name, bool ExplicitVr, bool BigEndian, bool Deflated, PixelEncoding Pixels)
{
    public const string ImplicitLittleUid = "1.2.840.10008.1.2";

    private static readonly TransferSyntax[] Read =
    [
        new(ImplicitLittleUid, "Implicit VR Little Endian", false, false, false, PixelEncoding.Native),
        new("1.2.840.10008.1.2.1", "Explicit VR Little Endian", true, false, false, PixelEncoding.Native),
        new("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", true, false, true, PixelEncoding.Native),
        new("1.2.840.10008.1.2.2", "Explicit VR Big Endian", true, true, false, PixelEncoding.Native),
        new("1.2.840.10008.1.2.5", "RLE Lossless", true, false, false, PixelEncoding.Rle),
        new("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", true, false, false, PixelEncoding.Jpeg),
        new("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", true, false, false, PixelEncoding.Jpeg),
    ];

    /// <summary>Encapsulated syntaxes this reader names in its refusal.</summary>
    private static readonly Dictionary<string, string> Refused = new()
    {
        ["1.2.840.10008.1.2.4.57"] = "JPEG Lossless, Non-Hierarchical (Process 14)",
        ["1.2.840.10008.1.2.4.70"] = "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, Selection Value 1)",
        ["1.2.840.10008.1.2.4.80"] = "JPEG-LS Lossless",
        ["1.2.840.10008.1.2.4.81"] = "JPEG-LS Lossy (Near-Lossless)",
        ["1.2.840.10008.1.2.4.90"] = "JPEG 2000 Image Compression (Lossless Only)",
        ["1.2.840.10008.1.2.4.91"] = "JPEG 2000 Image Compression",
        ["1.2.840.10008.1.2.4.92"] = "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)",
        ["1.2.840.10008.1.2.4.93"] = "JPEG 2000 Part 2 Multi-component Image Compression",
        ["1.2.840.10008.1.2.4.201"] = "High-Throughput JPEG 2000 Image Compression (Lossless Only)",
        ["1.2.840.10008.1.2.4.202"] = "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",
        ["1.2.840.10008.1.2.4.203"] = "High-Throughput JPEG 2000 Image Compression",
        ["1.2.840.10008.1.2.4.100"] = "MPEG2 Main Profile / Main Level",
        ["1.2.840.10008.1.2.4.102"] = "MPEG-4 AVC/H.264 High Profile / Level 4.1",
        ["1.2.840.10008.1.2.4.110"] = "JPEG XL Lossless",
        ["1.2.840.10008.1.2.4.112"] = "JPEG XL",
    };

    /// <summary>The syntax named by <paramref name="uid"/>, or a 415 that names it when this reader does not decode it.</summary>
    public static TransferSyntax Find(string uid) =>
        Read.FirstOrDefault(syntax => syntax.Uid == uid)
        ?? throw new ImageDecodeException(ImageProblem.UnsupportedFormat,
            $"DICOM transfer syntax {uid} ({Refused.GetValueOrDefault(uid, "not a syntax this server knows")}) is not supported; " +
            $"send {string.Join(", ", Read.Select(s => s.Name))}.");
}

public enum PixelEncoding
{
    Native,
    Rle,
    Jpeg,
}
