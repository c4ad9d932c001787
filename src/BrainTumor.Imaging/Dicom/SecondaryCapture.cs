using SkiaSharp;

namespace BrainTumor.Imaging.Dicom;

/// <summary>
/// A DICOM Secondary Capture image (PS3.3 A.8.1) of a rendered explanation, filed in a new series of the input's study: new SOP
/// and Series Instance UIDs, a Source Image Sequence pointing at the input, "NOT FOR DIAGNOSTIC USE" in the series description,
/// the burned-in annotation flag and the answer in the image comments. Patient and study attributes are copied from the input
/// as <see cref="DicomWriter.CopyPatientAndStudy"/> does. Written explicit VR little endian.
/// </summary>
public static class SecondaryCapture
{
    public const string SopClassUid = "1.2.840.10008.5.1.4.1.1.7";

    /// <param name="burnedIn">Whether text is drawn in the pixels (Burned In Annotation, YES or NO).</param>
    public static byte[] Create(ReadOnlyMemory<byte> input, SKBitmap image, string comments, string derivation, bool burnedIn)
    {
        var source = DicomDataset.Parse(input);
        return new DicomWriter()
            .Text(DicomWriter.ModalityTag, "CS", "OT")
            .Text(0x00080064, "CS", "WSD")
            .Text(0x00080070, "LO", "BrainTumor")
            .Text(0x0008103E, "LO", "BrainTumor Grad-CAM - NOT FOR DIAGNOSTIC USE")
            .Text(0x00082111, "ST", derivation)
            .Sequence(0x00082112, DicomWriter.Reference(
                source.String(DicomWriter.SopClassUidTag) ?? "", source.String(DicomWriter.SopInstanceUidTag) ?? ""))
            .Uid(DicomWriter.SeriesInstanceUidTag, DicomWriter.NewUid())
            .Text(0x00200011, "IS", "9901")
            .Text(0x00200013, "IS", "1")
            .Text(0x00204000, "LT", comments)
            .UShort(0x00280002, 3)
            .Text(0x00280004, "CS", "RGB")
            .UShort(0x00280006, 0)
            .UShort(0x00280010, image.Height)
            .UShort(0x00280011, image.Width)
            .UShort(0x00280100, 8)
            .UShort(0x00280101, 8)
            .UShort(0x00280102, 7)
            .UShort(0x00280103, 0)
            .Text(0x00280301, "CS", burnedIn ? "YES" : "NO")
            .Add(DicomDataset.PixelDataTag, "OB", Rgb(image))
            .CopyPatientAndStudy(source)
            .ToPart10(SopClassUid, DicomWriter.NewUid());
    }

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
        return rgb;
    }
}
