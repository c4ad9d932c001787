namespace BrainTumor.Imaging;

/// <summary>
/// How 8-bit RGB pixels become model input: <c>value = (pixel * Scale - Mean[c]) / Std[c]</c>. Written into
/// each package's manifest as <c>input.normalization</c>. The paper's network rescales by 1/255 only.
/// </summary>
public sealed record Normalization(float Scale, float[] Mean, float[] Std)
{
    public static Normalization Rescale255 { get; } = new(1f / 255f, [0f, 0f, 0f], [1f, 1f, 1f]);

    public static Normalization ImageNet { get; } = new(1f / 255f, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    public static Normalization Raw { get; } = new(1f, [0f, 0f, 0f], [1f, 1f, 1f]);

    /// <summary>What makes this normalisation unusable, or null when it is usable.</summary>
    public string? Problem =>
        !(Scale > 0) || Mean is not { Length: 3 } || Std is not { Length: 3 } || Std.Any(s => !(s > 0))
            ? "it needs a positive scale, three means and three positive standard deviations."
            : null;
}
