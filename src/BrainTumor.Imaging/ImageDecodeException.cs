namespace BrainTumor.Imaging;

/// <summary>The bytes are not an image this library can read (unknown format, truncated or corrupt).</summary>
public sealed class ImageDecodeException(string message) : Exception(message);
