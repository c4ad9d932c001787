namespace BrainTumor.Api.Infrastructure;

/// <summary>Width and height in pixels of the uploaded image (after EXIF orientation).</summary>
public sealed record ImageSize(int Width, int Height);
