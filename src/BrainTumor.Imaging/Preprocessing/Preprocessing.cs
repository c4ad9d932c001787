using System.Buffers;
using System.Text.Json.Serialization;
using SkiaSharp;

namespace BrainTumor.Imaging;

[JsonConverter(typeof(JsonStringEnumConverter<CropMode>))]
public enum CropMode
{
    /// <summary>The whole image is stretched to the input size.</summary>
    None,

    /// <summary>A square around the head (the largest bright region), with a margin, is scaled to the input size.</summary>
    Head,
}

[JsonConverter(typeof(JsonStringEnumConverter<IntensityMode>))]
public enum IntensityMode
{
    /// <summary>Pixels keep their grey levels.</summary>
    None,

    /// <summary>
    /// Grey levels are mapped linearly so that the background's median becomes 0 and the head's 99th percentile
    /// becomes <see cref="IntensityMapping.HeadHighTarget"/>.
    /// </summary>
    HeadPercentiles,
}

/// <summary>The input region a model saw, in the decoded image's pixel coordinates (it may reach past the image's edges).</summary>
public readonly record struct InputRegion(float X, float Y, float Width, float Height)
{
    public static InputRegion Whole(int width, int height) => new(0, 0, width, height);

    /// <summary>
    /// The same region in a copy of the image <paramref name="scaleX"/> times as wide and <paramref name="scaleY"/> times as high.
    /// </summary>
    public InputRegion Scaled(float scaleX, float scaleY) => new(X * scaleX, Y * scaleY, Width * scaleX, Height * scaleY);
}

/// <summary>A model input and the part of the decoded image it was taken from.</summary>
public sealed record PreparedImage(RgbImage Pixels, InputRegion Region);

/// <summary>
/// How a decoded image becomes a model's input pixels: a recipe of steps, each in its own file. Training, serving, the CLI
/// and evaluation all call <see cref="Prepare"/>, and each model package records the recipe it was trained with, so that a
/// package is always fed as it was trained. Measurements behind the steps: docs/training.md, Preprocessing.
/// <para>
/// Why these steps: the training images of each class come mostly from one source each, so framing (how
/// much black border, how large the head) and brightness tell the class as well as anatomy does. Cropping to
/// the head removes the framing, and the intensity mapping removes brightness and contrast, both measured
/// on the image itself (<see cref="GreyHistogram.HeadThreshold"/> separates head from background; an affine change of grey
/// levels moves the threshold, the background median and the percentile together, so the output does not change).
/// </para>
/// </summary>
/// <param name="CropMargin">Margin around the head's bounding box, as a share of its longer side, on each side.</param>
public sealed record Preprocessing(CropMode Crop = CropMode.None, double CropMargin = 0, IntensityMode Intensity = IntensityMode.None)
{
    /// <summary>The original pipeline: the whole image stretched bilinearly to the input size, grey levels untouched.</summary>
    public static Preprocessing Stretch { get; } = new();

    /// <summary>Crop to the head with a 4% margin, then map grey levels from the head's own statistics.</summary>
    public static Preprocessing HeadStandardised { get; } = new(CropMode.Head, 0.04, IntensityMode.HeadPercentiles);

    public static Preprocessing Parse(string name) => name.ToLowerInvariant() switch
    {
        "stretch" => Stretch,
        "head" => HeadStandardised,
        "head-crop" => new Preprocessing(CropMode.Head, HeadStandardised.CropMargin),
        "intensity" => new Preprocessing(Intensity: IntensityMode.HeadPercentiles),
        _ => throw new ArgumentException($"Unknown preprocessing '{name}'; use stretch, head-crop, intensity or head (both)."),
    };

    public string Describe() => this switch
    {
        { Crop: CropMode.None, Intensity: IntensityMode.None } => "bilinear stretch of the whole image to the input size",
        _ => string.Join("; ", new[]
        {
            Crop == CropMode.Head
                ? "square crop around the head (largest bright component above the head/background threshold, edges refined at full "
                    + $"resolution) with a {CropMargin * 100:0.#}% margin, black outside the image, resampled with a box filter"
                : "box-filter resampling of the whole image",
            Intensity == IntensityMode.HeadPercentiles
                ? $"grey levels mapped so that the background median is 0 and the head's 99th percentile {IntensityMapping.HeadHighTarget}"
                : null,
        }.OfType<string>()),
    };

    /// <summary>
    /// The steps: grey levels (<see cref="GreyLevels"/>), the head's crop box (<see cref="HeadLocation"/>), box-filter
    /// resampling (<see cref="BoxResampler"/>), the grey-level map (<see cref="IntensityMapping"/>). <see cref="Stretch"/>
    /// is the paper's Skia bilinear stretch instead.
    /// </summary>
    /// <param name="planes">Where to write the input's pixels (3 x width x height bytes, all overwritten); null allocates them.</param>
    public PreparedImage Prepare(SKBitmap image, int width, int height, byte[]? planes = null)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "The target size must be positive.");
        }
        if (this == Stretch)
        {
            return new PreparedImage(ImageLoader.Resize(image, width, height, planes), InputRegion.Whole(image.Width, image.Height));
        }
        using var grey = GreyLevels.Of(image);
        var region = Crop == CropMode.Head ? HeadLocation.CropBox(grey, CropMargin) : InputRegion.Whole(grey.Width, grey.Height);
        var (pixels, inside) = BoxResampler.Resample(image, grey, region, width, height, planes);
        if (Intensity == IntensityMode.HeadPercentiles)
        {
            IntensityMapping.HeadPercentiles(pixels, inside, grey.AllGrey);
        }
        ArrayPool<bool>.Shared.Return(inside);
        return new PreparedImage(pixels, region);
    }
}
