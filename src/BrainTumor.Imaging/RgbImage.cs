using System.Numerics.Tensors;

namespace BrainTumor.Imaging;

/// <summary>An 8-bit RGB image stored planar (channel-major, CHW), the layout the networks read.</summary>
public sealed class RgbImage
{
    public RgbImage(int width, int height, byte[] planes)
    {
        if (planes.Length != 3 * width * height)
        {
            throw new ArgumentException(
                $"Expected {3 * width * height} bytes for {width}x{height} RGB, got {planes.Length}.", nameof(planes));
        }
        Width = width;
        Height = height;
        Planes = planes;
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>R plane, then G, then B; each row-major.</summary>
    public byte[] Planes { get; }

    public int PixelCount => Width * Height;

    /// <summary>Writes the normalised CHW float tensor of this image into <paramref name="destination"/>.</summary>
    public void WriteTensor(Normalization normalization, Span<float> destination)
    {
        if (destination.Length < Planes.Length)
        {
            throw new ArgumentException($"Destination holds {destination.Length} floats; {Planes.Length} are needed.", nameof(destination));
        }
        int plane = PixelCount;
        for (int c = 0; c < 3; c++)
        {
            float scale = normalization.Scale / normalization.Std[c];
            float shift = normalization.Mean[c] / normalization.Std[c];
            Span<float> target = destination.Slice(c * plane, plane);
            // Vectorised, but the same two roundings per value as level * scale - shift (never fused into one).
            TensorPrimitives.ConvertTruncating<byte, float>(Planes.AsSpan(c * plane, plane), target);
            TensorPrimitives.Multiply(target, scale, target);
            TensorPrimitives.Subtract(target, shift, target);
        }
    }

    public float[] ToTensor(Normalization normalization)
    {
        var tensor = new float[Planes.Length];
        WriteTensor(normalization, tensor);
        return tensor;
    }
}
