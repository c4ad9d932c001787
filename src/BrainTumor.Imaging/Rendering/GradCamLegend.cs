using SkiaSharp;

namespace BrainTumor.Imaging.Rendering;

/// <summary>
/// What a Grad-CAM picture needs to explain itself to a person who sees only the picture: the colour scale, the class the
/// map explains, the answer with its confidence, the model, and that it is research software.
/// </summary>
/// <param name="ExplainedClass">The class the map explains (display text).</param>
/// <param name="Answer">The predicted label (display text).</param>
/// <param name="Confidence">Its calibrated probability.</param>
/// <param name="Method">How the map was made (display text: Grad-CAM, HiResCAM, Grad-CAM++).</param>
public sealed record GradCamLegend(string ExplainedClass, string Answer, float Confidence, string Model, string ModelVersion, string Method)
{
    public const string ResearchUse = "Research use only, not for diagnosis";

    // Below this width the text would be too small to read; smaller pictures are enlarged (by whole pixels) first.
    private const int MinWidth = 256;

    public IReadOnlyList<string> Lines =>
    [
        $"Map for: {ExplainedClass}    Answer: {Answer} {Confidence * 100:0.0}%",
        $"Model: {Model} {ModelVersion}, {Method}",
        ResearchUse,
    ];

    /// <summary>
    /// The picture with a panel below it (nothing is drawn over the image): a JET colour bar from "low" to "high" and the
    /// lines of <see cref="Lines"/>. A picture narrower than 256 pixels is first enlarged by a whole factor, pixel for pixel.
    /// </summary>
    public SKBitmap DrawBelow(SKBitmap picture)
    {
        int scale = picture.Width >= MinWidth ? 1 : (MinWidth + picture.Width - 1) / picture.Width;
        int width = picture.Width * scale, imageHeight = picture.Height * scale;
        using var font = new SKFont(EmbeddedFont.Typeface, Math.Clamp(width / 34f, 10f, 22f));
        // Shrink the text until the longest line fits the width.
        float widest = Lines.Max(line => font.MeasureText(line));
        float padding = font.Size * 0.6f;
        if (widest > width - 2 * padding)
        {
            font.Size *= (width - 2 * padding) / widest;
        }
        float line = font.Size * 1.4f;
        int panel = (int)Math.Ceiling(padding * 2 + line * (Lines.Count + 1));
        var output = new SKBitmap(new SKImageInfo(width, imageHeight + panel, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(output);
        if (scale == 1 && picture.ColorType == SKColorType.Rgba8888 && picture.AlphaType == SKAlphaType.Opaque)
        {
            // The same pixels in the same layout: a copy, where drawing through the canvas cost as much as encoding the PNG.
            picture.GetPixelSpan().CopyTo(output.GetPixelSpan());
        }
        else
        {
            using var image = SKImage.FromBitmap(picture);
            canvas.DrawImage(image, SKRect.Create(width, imageHeight), new SKSamplingOptions(SKFilterMode.Nearest));
        }
        using (var black = new SKPaint { Color = SKColors.Black })
        {
            canvas.DrawRect(0, imageHeight, width, panel, black);
        }
        using var ink = new SKPaint { Color = SKColors.White, IsAntialias = true };
        float y = imageHeight + padding;
        // The colour bar, as wide as half the picture, between its two words.
        float low = font.MeasureText("low"), barLeft = padding + low + padding * 0.5f, barWidth = width / 2f;
        float barTop = y + line * 0.15f, barHeight = line * 0.7f;
        canvas.DrawText("low", padding, y + font.Size, SKTextAlign.Left, font, ink);
        using var bar = new SKPaint();
        for (int x = 0; x < (int)barWidth; x++)
        {
            bar.Color = Colormap.Jet(x / (barWidth - 1));
            canvas.DrawRect(barLeft + x, barTop, 1, barHeight, bar);
        }
        canvas.DrawText("high", barLeft + barWidth + padding * 0.5f, y + font.Size, SKTextAlign.Left, font, ink);
        foreach (string text in Lines)
        {
            y += line;
            canvas.DrawText(text, padding, y + font.Size, SKTextAlign.Left, font, ink);
        }
        return output;
    }
}
