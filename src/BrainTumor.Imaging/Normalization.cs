namespace BrainTumor.Imaging;

/// <summary>
/// How 8-bit RGB pixels become model input: <c>value = (pixel * Scale - Mean[c]) / Std[c]</c>.
/// The paper's network rescales by 1/255 only.
/// </summary>
public sealed record Normalization(float Scale, float[] Mean, float[] Std)
{
    public static Normalization Rescale255 { get; } = new(1f / 255f, [0f, 0f, 0f], [1f, 1f, 1f]);

    public void Validate()
    {
        if (!(Scale > 0) || Mean.Length != 3 || Std.Length != 3 || Std.Any(s => !(s > 0)))
        {
            throw new ArgumentException("Normalization needs a positive scale and three means and positive standard deviations.");
        }
    }
}
