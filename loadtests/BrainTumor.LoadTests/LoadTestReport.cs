using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using BrainTumor.Imaging.Rendering;
using SkiaSharp;

namespace BrainTumor.LoadTests;

/// <summary>The results of a run, as the paper's Table 5 (Markdown), JSON, and a PNG chart.</summary>
public sealed record LoadTestReport(
    DateTimeOffset StartedAt, string Scenario, string Target, string Machine, int ImagesUsed, double AverageUploadKb,
    IReadOnlyList<LevelResult> Levels)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string DescribeMachine() =>
        $"{BrainTumor.Imaging.Machine.Description}, {RuntimeInformation.FrameworkDescription}";

    public string Markdown()
    {
        var text = new StringBuilder();
        text.AppendLine($"Scenario `{Scenario}` against {Target}; {Machine}; {ImagesUsed} images, {AverageUploadKb:F0} KB on average.");
        text.AppendLine();
        text.AppendLine("| pass | users | requests | req/s | mean ms | p50 ms | p95 ms | p99 ms | max ms | failures | 503 | errors | " +
                        "server RSS peak MB |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var level in Levels)
        {
            string errors = level.Errors.Count == 0 ? "0" : string.Join(", ", level.Errors.Select(e => $"{e.Key}: {e.Value}"));
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {level.Pass} | {level.Users} | {level.Requests} | {level.Throughput:F2} | {level.MeanMs:F1} | {level.P50Ms:F1} | " +
                $"{level.P95Ms:F1} | {level.P99Ms:F1} | {level.MaxMs:F1} | {level.FailurePercent:0.##}% | {level.Rejected} | {errors} | " +
                $"{level.ServerPeakRssMb?.ToString("F0", CultureInfo.InvariantCulture) ?? "n/a"} |"));
        }
        return text.ToString();
    }

    /// <summary>Writes a report as <c>report.md</c> and <c>report.json</c> into a new folder, and says where.</summary>
    public static void SaveFolder<T>(string folder, T report, string markdown, TextWriter log)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "report.md"), markdown);
        File.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(report, Json));
        log.WriteLine($"results: {folder}");
    }

    public void Save(string folder, string stem)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, $"{stem}.json"), JsonSerializer.Serialize(this, Json));
        File.WriteAllText(Path.Combine(folder, $"{stem}.md"), Markdown());
        File.WriteAllBytes(Path.Combine(folder, $"{stem}.png"), Chart());
    }

    /// <summary>Throughput per level (left) and latency percentiles per level (right), for the last pass.</summary>
    public byte[] Chart()
    {
        int lastPass = Levels.Max(l => l.Pass);
        var levels = Levels.Where(l => l.Pass == lastPass).ToList();
        ScottPlot.Fonts.AddFontFile("DejaVu", EmbeddedFont.FilePath);

        var throughput = new ScottPlot.Plot();
        throughput.Font.Set("DejaVu");
        var bars = throughput.Add.Bars(levels.Select(l => l.Throughput).ToArray());
        bars.ValueLabelStyle.FontName = "DejaVu";
        throughput.Axes.Bottom.SetTicks(Enumerable.Range(0, levels.Count).Select(i => (double)i).ToArray(),
            levels.Select(l => $"{l.Users} users").ToArray());
        throughput.Title($"{Scenario}: throughput");
        throughput.YLabel("requests / s");
        throughput.Axes.Margins(bottom: 0);

        var latency = new ScottPlot.Plot();
        latency.Font.Set("DejaVu");
        double[] users = levels.Select(l => (double)l.Users).ToArray();
        foreach (var (name, values) in new[]
                 {
                     ("mean", levels.Select(l => l.MeanMs)), ("p50", levels.Select(l => l.P50Ms)),
                     ("p95", levels.Select(l => l.P95Ms)), ("p99", levels.Select(l => l.P99Ms)),
                 })
        {
            var line = latency.Add.Scatter(users, values.ToArray());
            line.LegendText = name;
        }
        latency.Axes.Bottom.SetTicks(users, levels.Select(l => l.Users.ToString(CultureInfo.InvariantCulture)).ToArray());
        latency.Title($"{Scenario}: latency");
        latency.XLabel("concurrent users");
        latency.YLabel("ms");
        latency.ShowLegend();

        const int width = 640, height = 420;
        using var surface = SKSurface.Create(new SKImageInfo(2 * width, height));
        surface.Canvas.Clear(SKColors.White);
        foreach (var (plot, x) in new[] { (throughput, 0), (latency, width) })
        {
            using var image = SKImage.FromEncodedData(plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png));
            surface.Canvas.DrawImage(image, x, 0, new SKSamplingOptions(SKFilterMode.Nearest));
        }
        using var snapshot = surface.Snapshot();
        using var data = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
