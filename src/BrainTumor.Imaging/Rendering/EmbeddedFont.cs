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

    // One file for every process of this build, named by the assembly's version id: a file per process filled /tmp.
    private static readonly Lazy<string> LazyFile = new(() =>
    {
        string path = Path.Combine(Path.GetTempPath(),
            $"braintumor-dejavu-sans-bold-{typeof(EmbeddedFont).Assembly.ManifestModule.ModuleVersionId:N}.ttf");
        if (!File.Exists(path))
        {
            // Written aside and moved into place, so that a process never reads another's half-written copy.
            string partial = $"{path}.{Environment.ProcessId}.partial";
            using (var stream = Open())
            using (var file = File.Create(partial))
            {
                stream.CopyTo(file);
            }
            File.Move(partial, path, overwrite: true);
        }
        return path;
    });

    /// <summary>A copy of the font on disk, for libraries (ScottPlot) that load fonts from files.</summary>
    public static string FilePath => LazyFile.Value;

    private static Stream Open() => Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
        ?? throw new InvalidOperationException("The embedded font is missing.");
}
