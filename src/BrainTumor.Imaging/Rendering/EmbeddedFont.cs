using System.Reflection;
using SkiaSharp;

namespace BrainTumor.Imaging.Rendering;

/// <summary>
/// DejaVu Sans Bold, shipped inside the assembly: the Linux SkiaSharp assets used here carry no font
/// manager, so without it no text would be drawn.
/// </summary>
public static class EmbeddedFont
{
    private const string ResourceName = "BrainTumor.Imaging.Fonts.DejaVuSans-Bold.ttf";

    private static readonly Lazy<SKTypeface> LazyTypeface = new(() =>
    {
        using var stream = Open();
        return SKTypeface.FromStream(stream) ?? throw new InvalidOperationException("The embedded font cannot be read.");
    });

    public static SKTypeface Typeface => LazyTypeface.Value;

    private static readonly Lazy<string> LazyFile = new(() =>
    {
        string path = Path.Combine(Path.GetTempPath(), $"braintumor-dejavu-sans-bold-{Environment.ProcessId}.ttf");
        using var stream = Open();
        using var file = File.Create(path);
        stream.CopyTo(file);
        return path;
    });

    /// <summary>A copy of the font on disk, for libraries (ScottPlot) that load fonts from files.</summary>
    public static string FilePath => LazyFile.Value;

    private static Stream Open() => Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
        ?? throw new InvalidOperationException("The embedded font is missing.");
}
