using System.Globalization;

namespace BrainTumor.Evaluation;

/// <summary>A lesion drawn by hand, as fractions of the image's width and height (0 at the left and top).</summary>
public sealed record LesionBox(string File, string Sha256, string Label, string Plane, double X0, double Y0, double X1, double Y1);

/// <summary>
/// The pointing game (Zhang et al. 2018): does a map of the true class peak inside the hand-drawn lesion box, given a margin;
/// and what share of the map's mass lies inside the box. Both on the map at the image's own size.
/// </summary>
public static class PointingGame
{
    /// <summary>Tolerance around the box, as a share of the image's width and height: hand boxes and coarse maps are not exact.</summary>
    public const double Margin = 0.05;

    /// <param name="map">The map over the whole image, row by row, non-negative (<c>GradCamRenderer.NormaliseAndUpsample</c>).</param>
    public static (bool Hit, double MassInside) Score(ReadOnlySpan<float> map, int width, int height, LesionBox box)
    {
        int peak = 0;
        double total = 0, inside = 0;
        int left = (int)Math.Floor(box.X0 * width), right = (int)Math.Ceiling(box.X1 * width);
        int top = (int)Math.Floor(box.Y0 * height), bottom = (int)Math.Ceiling(box.Y1 * height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = y * width + x;
                float value = Math.Max(map[i], 0);
                total += value;
                if (x >= left && x < right && y >= top && y < bottom)
                {
                    inside += value;
                }
                if (map[i] > map[peak])
                {
                    peak = i;
                }
            }
        }
        double peakX = (peak % width + 0.5) / width, peakY = (peak / width + 0.5) / height;
        bool hit = total > 0
            && peakX >= box.X0 - Margin && peakX <= box.X1 + Margin && peakY >= box.Y0 - Margin && peakY <= box.Y1 + Margin;
        return (hit, total > 0 ? inside / total : 0);
    }

    /// <summary>Reads a lesion-box CSV (<c>data/lesion-boxes/*.csv</c>); rows without a box (no visible lesion) are left out.</summary>
    public static IReadOnlyList<LesionBox> Read(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0)
        {
            throw new FormatException($"{path}: empty.");
        }
        var header = Csv.SplitLine(lines[0]);
        int Column(string name) => Array.IndexOf(header, name) is int index and >= 0
            ? index
            : throw new FormatException($"{path}: no '{name}' column.");
        int file = Column("file"), sha = Column("sha256"), label = Column("label"), plane = Column("plane");
        int x0 = Column("x0"), y0 = Column("y0"), x1 = Column("x1"), y1 = Column("y1");
        var boxes = new List<LesionBox>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var fields = Csv.SplitLine(line);
            if (fields[x0].Length == 0)
            {
                continue;
            }
            double Number(int column) => double.Parse(fields[column], CultureInfo.InvariantCulture);
            var box = new LesionBox(fields[file], fields[sha], fields[label], fields[plane],
                Number(x0), Number(y0), Number(x1), Number(y1));
            if (!(box.X0 >= 0 && box.X0 < box.X1 && box.X1 <= 1 && box.Y0 >= 0 && box.Y0 < box.Y1 && box.Y1 <= 1))
            {
                throw new FormatException($"{path}: the box of {box.File} is not inside the image with x0 < x1 and y0 < y1.");
            }
            boxes.Add(box);
        }
        return boxes;
    }
}
