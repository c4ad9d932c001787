using SkiaSharp;

namespace BrainTumor.Imaging.Rendering;

/// <summary>The JET colormap (blue, cyan, yellow, red), as a 256-entry lookup table.</summary>
public static class Colormap
{
    private static readonly SKColor[] JetTable = Enumerable.Range(0, 256).Select(i => JetColor(i / 255f)).ToArray();

    public static SKColor Jet(float value) => JetTable[Level(value)];

    /// <summary>The colour of table entry <paramref name="level"/> (0-255).</summary>
    public static SKColor JetAt(int level) => JetTable[level];

    /// <summary>The table entry a value from 0 to 1 falls on (values outside are clamped).</summary>
    public static int Level(float value) => (int)(Math.Clamp(value, 0f, 1f) * 255f + 0.5f);

    private static SKColor JetColor(float v)
    {
        static byte Channel(float x) => (byte)(Math.Clamp(x, 0f, 1f) * 255f + 0.5f);
        return new SKColor(Channel(1.5f - Math.Abs(4 * v - 3)), Channel(1.5f - Math.Abs(4 * v - 2)), Channel(1.5f - Math.Abs(4 * v - 1)));
    }
}
