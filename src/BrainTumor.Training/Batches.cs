using BrainTumor.Imaging;
using BrainTumor.Data;
using static TorchSharp.torch;

namespace BrainTumor.Training;

/// <summary>Turns cached images into input tensors, normalised exactly as the server will do it.</summary>
public static class Batches
{
    public static Tensor Images(IReadOnlyList<LabelledImage> samples, IReadOnlyList<int> indices, Normalization normalization)
    {
        var first = samples[indices[0]].Image;
        int size = first.Planes.Length;
        var buffer = new float[indices.Count * size];
        for (int i = 0; i < indices.Count; i++)
        {
            samples[indices[i]].Image.WriteTensor(normalization, buffer.AsSpan(i * size, size));
        }
        return tensor(buffer, [indices.Count, 3, first.Height, first.Width]);
    }

    /// <summary>
    /// The same images with channels-last strides. LibTorch's CPU convolutions keep that layout through the
    /// whole network once the input has it, and run 1.1x (ResNet-50) to 1.4x (paper-cnn) faster per training
    /// step on this machine; the values, and so the results, are those of the plain layout.
    /// </summary>
    public static Tensor ToChannelsLast(Tensor images) => images.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    public static Tensor Labels(IReadOnlyList<LabelledImage> samples, IReadOnlyList<int> indices) =>
        tensor(indices.Select(i => (long)samples[i].Label).ToArray());

    /// <summary>Each image's head mask (<see cref="HeadLocation.Mask"/>) as [N, 1, H, W] of 0 and 1.</summary>
    public static Tensor HeadMasks(IReadOnlyList<LabelledImage> samples, IReadOnlyList<int> indices)
    {
        var first = samples[indices[0]].Image;
        int plane = first.PixelCount;
        var buffer = new float[indices.Count * plane];
        for (int i = 0; i < indices.Count; i++)
        {
            var mask = HeadLocation.Mask(samples[indices[i]].Image);
            for (int p = 0; p < plane; p++)
            {
                buffer[i * plane + p] = mask[p] ? 1 : 0;
            }
        }
        return tensor(buffer, [indices.Count, 1, first.Height, first.Width]);
    }

    /// <summary>Moves <paramref name="masks"/> ([N, 1, H, W]) exactly as the sampling <paramref name="grid"/> moves the images.</summary>
    public static Tensor? MoveMasks(Tensor? masks, Tensor grid) =>
        masks is null
            ? null
            : nn.functional.grid_sample(masks, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: false);

    /// <summary>The paper's augmentation: random horizontal flip and a small random rotation (zero fill).</summary>
    /// <param name="masks">Head masks to move with the images, or null.</param>
    public static (Tensor Images, Tensor? Masks) Augment(Tensor images, Random random, double maxDegrees, Tensor? masks = null)
    {
        long count = images.shape[0];
        var theta = new float[count * 6];
        for (int i = 0; i < count; i++)
        {
            double angle = (random.NextDouble() * 2 - 1) * maxDegrees * Math.PI / 180;
            float flip = random.NextDouble() < 0.5 ? -1f : 1f;
            float cos = (float)Math.Cos(angle), sin = (float)Math.Sin(angle);
            // affine_grid maps each output position to the input position it samples from.
            theta[i * 6 + 0] = cos * flip;
            theta[i * 6 + 1] = -sin;
            theta[i * 6 + 3] = sin * flip;
            theta[i * 6 + 4] = cos;
        }
        using var affine = tensor(theta, [count, 2, 3]);
        using var grid = nn.functional.affine_grid(affine, images.shape, align_corners: false);
        var moved = nn.functional.grid_sample(images, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: false);
        return (moved, MoveMasks(masks, grid));
    }
}
