using BrainTumor.Data;
using BrainTumor.Tests;
using SkiaSharp;

namespace BrainTumor.Data.Tests;

public sealed class ImageFolderDatasetTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("braintumor-dataset-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// Writes <paramref name="perClass"/> copies of the public slice into every class folder of the temporary root, each with its
    /// own bytes: the loader reads folders, labels and bytes, not what a slice shows.
    /// </summary>
    private void CopyImages(int perClass)
    {
        using var slice = SKBitmap.Decode(PublicSlice.Png);
        byte copy = 0;
        foreach (var label in DatasetLabels.BrainTumor)
        {
            Directory.CreateDirectory(Path.Combine(root, label));
            for (int i = 0; i < perClass; i++, copy++)
            {
                // A corner pixel at the copy's own grey level makes each copy a different image, as a folder of slices is.
                slice.SetPixel(0, 0, new SKColor(copy, copy, copy));
                using var png = slice.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(Path.Combine(root, label, $"{i}.png"), png.ToArray());
            }
        }
    }

    [Fact]
    public void ImagesAreDecodedWithLabelsInTheFixedOrderAndHashed()
    {
        CopyImages(2);
        string duplicate = Path.Combine(root, "no_tumor", "copy.png");
        File.Copy(Directory.GetFiles(Path.Combine(root, "no_tumor"))[0], duplicate);

        var dataset = ImageFolderDataset.Load(root, DatasetLabels.BrainTumor, 32);

        Assert.Equal(9, dataset.Samples.Count);
        Assert.Equal([0, 0, 1, 1, 2, 2, 2, 3, 3], dataset.Samples.Select(s => s.Label));
        Assert.All(dataset.Samples, s => Assert.Equal(3 * 32 * 32, s.Image.Planes.Length));
        Assert.Equal(8, dataset.Samples.Select(s => s.Sha256).Distinct().Count());
    }

    [Fact]
    public void AnUnreadableImageIsSkippedAndReported()
    {
        CopyImages(2);
        File.WriteAllText(Path.Combine(root, "glioma_tumor", "broken.jpg"), "not a jpeg");
        var warnings = new List<string>();

        var dataset = ImageFolderDataset.Load(root, DatasetLabels.BrainTumor, 32, warn: warnings.Add);

        Assert.Equal(8, dataset.Samples.Count);
        Assert.Contains("broken.jpg", Assert.Single(warnings));
        Assert.Contains("broken.jpg", Assert.Single(dataset.Skipped));
    }

    [Fact]
    public void AMissingDataFolderIsReportedByPath()
    {
        string missing = Path.Combine(root, "nowhere");

        var error = Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(missing, DatasetLabels.BrainTumor, 32));

        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void AMissingClassFolderIsReportedByName()
    {
        CopyImages(1);
        Directory.Delete(Path.Combine(root, "no_tumor"), recursive: true);

        var error = Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(root, DatasetLabels.BrainTumor, 32));

        Assert.Contains("no_tumor", error.Message);
    }

    [Fact]
    public void AnEmptyClassIsReportedByName()
    {
        CopyImages(1);
        foreach (var file in Directory.GetFiles(Path.Combine(root, "pituitary_tumor")))
        {
            File.Delete(file);
        }

        var error = Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(root, DatasetLabels.BrainTumor, 32));

        Assert.Contains("pituitary_tumor", error.Message);
        Assert.Contains("no images", error.Message);
    }

    [Fact]
    public void AClassWhoseImagesAreAllUnreadableIsReported()
    {
        CopyImages(1);
        foreach (var file in Directory.GetFiles(Path.Combine(root, "meningioma_tumor")))
        {
            File.WriteAllText(file, "garbage");
        }

        var error = Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(root, DatasetLabels.BrainTumor, 32));

        Assert.Contains("meningioma_tumor", error.Message);
    }
}
