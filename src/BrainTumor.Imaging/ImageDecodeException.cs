namespace BrainTumor.Imaging;

public enum ImageProblem
{
    Empty,
    UnsupportedFormat,
    Corrupt,
    TooLarge,
    TooSmall,
    OversizedMetadata,

    /// <summary>A frame was asked for that the image does not have.</summary>
    NoSuchFrame,
}

/// <summary>The bytes are not an image this library will read; <see cref="Problem"/> says why.</summary>
public sealed class ImageDecodeException(ImageProblem problem, string message) : Exception(message)
{
    public ImageProblem Problem { get; } = problem;
}
