using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Imaging;
using static TorchSharp.torch;

namespace BrainTumor.Training;

/// <summary>
/// Hand-drawn lesion boxes as masks over the model's input, for the training images that have one: the box, widened by the
/// pointing game's margin, mapped through the crop the preprocessing took. Boxes of images outside the training part are
/// never used, so the held-out images stay unseen.
/// </summary>
public sealed class LesionMasks
{
    private readonly Dictionary<int, float[]> masks;
    private readonly int size;

    private LesionMasks(Dictionary<int, float[]> masks, int size)
    {
        this.masks = masks;
        this.size = size;
    }

    /// <summary>How many training images have a box.</summary>
    public int Count => masks.Count;

    /// <summary>Matches <paramref name="boxes"/> to the training images by SHA-256 and label.</summary>
    public static LesionMasks For(ImageFolderDataset dataset, IReadOnlyList<int> trainIndices, IReadOnlyList<LesionBox> boxes,
        Preprocessing preprocessing)
    {
        var byImage = boxes.GroupBy(b => (b.Sha256.ToLowerInvariant(), b.Label)).ToDictionary(g => g.Key, g => g.First());
        var masks = new Dictionary<int, float[]>();
        foreach (int index in trainIndices)
        {
            var sample = dataset.Samples[index];
            if (byImage.TryGetValue((sample.Sha256, dataset.Labels[sample.Label]), out var box))
            {
                masks[index] = Mask(Path.Combine(dataset.Root, sample.RelativePath), box, preprocessing, dataset.ImageSize);
            }
        }
        return new LesionMasks(masks, dataset.ImageSize);
    }

    /// <summary>The box over the input pixels (1 inside): each pixel's centre mapped back to the decoded image.</summary>
    private static float[] Mask(string path, LesionBox box, Preprocessing preprocessing, int size)
    {
        using var decoded = ImageLoader.Decode(File.ReadAllBytes(path));
        var region = preprocessing.Prepare(decoded, size, size).Region;
        double margin = PointingGame.Margin;
        var mask = new float[size * size];
        for (int v = 0; v < size; v++)
        {
            double y = (region.Y + (v + 0.5) / size * region.Height) / decoded.Height;
            for (int u = 0; u < size; u++)
            {
                double x = (region.X + (u + 0.5) / size * region.Width) / decoded.Width;
                bool inside = x >= box.X0 - margin && x <= box.X1 + margin && y >= box.Y0 - margin && y <= box.Y1 + margin;
                mask[v * size + u] = inside ? 1 : 0;
            }
        }
        return mask;
    }

    /// <summary>The batch's masks as [N, 1, H, W] (zeros for images without a box) and which images have one, as [N] of 0 and 1.</summary>
    public (Tensor Masks, Tensor Boxed) Batch(IReadOnlyList<int> indices)
    {
        int plane = size * size;
        var buffer = new float[indices.Count * plane];
        var boxed = new float[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            if (masks.TryGetValue(indices[i], out var mask))
            {
                mask.CopyTo(buffer, i * plane);
                boxed[i] = 1;
            }
        }
        return (tensor(buffer, [indices.Count, 1, size, size]), tensor(boxed));
    }

    /// <summary>The boxes of every file; where an image and label have several, the first counts.</summary>
    public static IReadOnlyList<LesionBox> Read(IReadOnlyList<string> files)
    {
        try
        {
            return files.SelectMany(PointingGame.Read).ToList();
        }
        catch (Exception ex) when (ex is IOException or FormatException)
        {
            throw new TrainingException($"Cannot read the lesion boxes: {ex.Message}");
        }
    }
}
