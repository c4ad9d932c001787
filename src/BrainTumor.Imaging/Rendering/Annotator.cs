using SkiaSharp;

namespace BrainTumor.Imaging.Rendering;

/// <summary>Writes a caption (the predicted label and confidence) on a copy of an image, as the paper's Figure 5 does.</summary>
public static class Annotator
{
    public static SKBitmap Caption(SKBitmap image, string text)
    {
        var output = image.Copy(SKColorType.Rgba8888) ?? throw new InvalidOperationException("The image could not be copied.");
        float size = Math.Max(12f, Math.Min(image.Width, image.Height) / 18f);
        using var font = new SKFont(EmbeddedFont.Typeface, size);
        float bandHeight = size * 1.6f;
        using var canvas = new SKCanvas(output);
        using var band = new SKPaint { Color = new SKColor(0, 0, 0, 170) };
        canvas.DrawRect(0, 0, image.Width, bandHeight, band);
        using var ink = new SKPaint { Color = SKColors.White, IsAntialias = true };
        canvas.DrawText(text, size * 0.5f, size * 1.15f, SKTextAlign.Left, font, ink);
        return output;
    }
}
