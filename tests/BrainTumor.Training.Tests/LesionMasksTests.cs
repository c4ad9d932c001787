using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Imaging;
using SkiaSharp;

namespace BrainTumor.Training.Tests;

public sealed class LesionMasksTests : IDisposable
{
    private const int Size = 40;
    private readonly string root = Directory.CreateTempSubdirectory("lesion-masks-").FullName;
    private readonly ImageFolderDataset dataset;
    private readonly LesionBox box;

    public LesionMasksTests()
    {
        // The same 200x100 picture in every class folder: only the label tells the boxed image from the others.
        using var bitmap = new SKBitmap(200, 100);
        bitmap.Erase(new SKColor(90, 90, 90));
        using var data = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Png, 100);
        foreach (string label in DatasetLabels.BrainTumor)
        {
            Directory.CreateDirectory(Path.Combine(root, label));
            File.WriteAllBytes(Path.Combine(root, label, "slice.png"), data.ToArray());
        }
        dataset = ImageFolderDataset.Load(root, DatasetLabels.BrainTumor, Size);
        var glioma = dataset.Samples.Single(s => dataset.Labels[s.Label] == "glioma_tumor");
        box = new LesionBox(glioma.RelativePath, glioma.Sha256, "glioma_tumor", "axial", 0.5, 0.25, 0.75, 0.5);
    }

    [Fact]
    public void TheMaskIsTheBoxWidenedByThePointingGamesMarginWhereTheInputCameFrom()
    {
        var all = Enumerable.Range(0, dataset.Samples.Count).ToList();
        var masks = LesionMasks.For(dataset, all, [box], Preprocessing.Stretch);
        int glioma = all.Single(i => dataset.Labels[dataset.Samples[i].Label] == "glioma_tumor");
        int other = all.First(i => i != glioma);

        var (tensor, boxed) = masks.Batch([glioma, other]);
        float[] values = tensor.data<float>().ToArray();

        Assert.Equal(1, masks.Count);
        Assert.Equal([1f, 0f], boxed.data<float>().ToArray());
        for (int v = 0; v < Size; v++)
        {
            for (int u = 0; u < Size; u++)
            {
                double x = (u + 0.5) / Size, y = (v + 0.5) / Size;
                bool inside = x >= 0.45 && x <= 0.80 && y >= 0.20 && y <= 0.55;
                Assert.Equal(inside ? 1f : 0f, values[v * Size + u]);
                Assert.Equal(0f, values[Size * Size + v * Size + u]);
            }
        }
    }

    [Fact]
    public void ABoxOnAnImageOutsideTheTrainingPartIsNotUsed()
    {
        var everyLabel = DatasetLabels.BrainTumor.Select(label => box with { File = $"{label}/slice.png", Label = label }).ToList();
        int glioma = Enumerable.Range(0, dataset.Samples.Count).Single(i => dataset.Labels[dataset.Samples[i].Label] == "glioma_tumor");
        var training = Enumerable.Range(0, dataset.Samples.Count).Where(i => i != glioma).ToList();

        var masks = LesionMasks.For(dataset, training, everyLabel, Preprocessing.Stretch);

        Assert.Equal(3, masks.Count);
        Assert.Equal([0f], masks.Batch([glioma]).Boxed.data<float>().ToArray());
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
