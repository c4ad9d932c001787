using TorchSharp;
using static TorchSharp.torch;

namespace BrainTumor.Training;

/// <summary>
/// Scalars that live as long as the process. A number passed where TorchSharp takes a Scalar becomes a native object that
/// only its finalizer frees, and TorchSharp does not keep it alive through the native call; its tensor <c>+</c> also passes a
/// hidden Scalar (alpha = 1) that way. Two fresh lite-cnn runs at 128x128 stopped in epoch 4 inside the augmentation's pow
/// and add with c10 Scalar.h checks failing (2026-12-03), while the same epoch resumed from a checkpoint passed: a freed
/// Scalar fits. So code that runs for every image, or every block of every batch, passes these, or Scalars it holds with
/// <c>using</c>, and adds tensors with <see cref="Plus"/>.
/// </summary>
public static class HeldScalars
{
    public static readonly Scalar Zero = 0.0.ToScalar(), One = 1.0.ToScalar(), IntegerOne = 1L.ToScalar();

    /// <summary><paramref name="left"/> + <paramref name="right"/>, its alpha Scalar held.</summary>
    public static Tensor Plus(this Tensor left, Tensor right) => left.add(right, One);
}
