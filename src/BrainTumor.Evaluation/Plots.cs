using BrainTumor.Imaging.Rendering;
using ScottPlot;

namespace BrainTumor.Evaluation;

/// <summary>PNG charts of an evaluation: confusion matrix, ROC curves, reliability diagram, learning curves.</summary>
public static class Plots
{
    private const string FontName = "DejaVu";
    private const int Width = 720, Height = 560;

    private static Plot NewPlot(string title)
    {
        Fonts.AddFontFile(FontName, EmbeddedFont.FilePath);
        var plot = new Plot();
        plot.Font.Set(FontName);
        plot.Title(title);
        return plot;
    }

    private static byte[] Png(Plot plot) => plot.GetImageBytes(Width, Height, ImageFormat.Png);

    /// <summary>Writes <c>confusion-matrix.png</c>, <c>roc-curves.png</c> and <c>reliability.png</c> for one set of predictions.</summary>
    public static void SaveStandard(string folder, string title, IReadOnlyList<float[]> probabilities, IReadOnlyList<int> truth,
        IReadOnlyList<string> labels, ProbabilisticMetrics metrics)
    {
        File.WriteAllBytes(Path.Combine(folder, "confusion-matrix.png"),
            ConfusionMatrix(metrics.Classification.ConfusionMatrix, labels, $"{title}: confusion matrix"));
        var curves = labels.Select((label, c) => (label,
            ProbabilisticMetrics.RocCurve(probabilities.Select(p => (double)p[c]).ToList(), truth.Select(t => t == c).ToList()),
            metrics.ClassAuc[c])).ToList();
        File.WriteAllBytes(Path.Combine(folder, "roc-curves.png"), RocCurves(curves, $"{title}: one-vs-rest ROC"));
        File.WriteAllBytes(Path.Combine(folder, "reliability.png"),
            Reliability(metrics.Reliability, metrics.ExpectedCalibrationError, $"{title}: reliability"));
    }

    public static byte[] ConfusionMatrix(int[][] confusion, IReadOnlyList<string> labels, string title)
    {
        int classes = labels.Count;
        var plot = NewPlot(title);
        var cells = new double[classes, classes];
        for (int t = 0; t < classes; t++)
        {
            double rowTotal = Math.Max(1, confusion[t].Sum());
            for (int p = 0; p < classes; p++)
            {
                cells[t, p] = confusion[t][p] / rowTotal;
            }
        }
        // Cells drawn one by one: each is exactly one unit around its (predicted, true) position.
        var colormap = new ScottPlot.Colormaps.Blues();
        for (int t = 0; t < classes; t++)
        {
            for (int p = 0; p < classes; p++)
            {
                var cell = plot.Add.Rectangle(p - 0.5, p + 0.5, t - 0.5, t + 0.5);
                cell.FillStyle.Color = colormap.GetColor(1 - cells[t, p] * 0.85);
                cell.LineStyle.Width = 0;
                var text = plot.Add.Text($"{confusion[t][p]}", p, t);
                text.LabelFontName = FontName;
                text.LabelFontSize = 16;
                text.LabelBold = true;
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontColor = cells[t, p] > 0.5 ? Colors.White : Colors.Black;
            }
        }
        double[] positions = Enumerable.Range(0, classes).Select(i => (double)i).ToArray();
        string[] names = labels.Select(l => l.Replace("_tumor", "")).ToArray();
        plot.Axes.Bottom.SetTicks(positions, names);
        plot.Axes.Left.SetTicks(positions, names);
        plot.XLabel("predicted");
        plot.YLabel("true");
        plot.Axes.SetLimits(-0.5, classes - 0.5, classes - 0.5, -0.5);
        return Png(plot);
    }

    public static byte[] RocCurves(IReadOnlyList<(string Label, IReadOnlyList<RocPoint> Curve, double Auc)> curves, string title)
    {
        var plot = NewPlot(title);
        foreach (var (label, curve, auc) in curves)
        {
            var line = plot.Add.Scatter(curve.Select(p => p.FalsePositiveRate).ToArray(), curve.Select(p => p.TruePositiveRate).ToArray());
            line.MarkerSize = 0;
            line.LegendText = $"{label} (AUC {auc:F3})";
        }
        return UnitSquare(plot, "false positive rate", "true positive rate", Alignment.LowerRight);
    }

    public static byte[] Reliability(IReadOnlyList<ReliabilityBin> bins, double ece, string title)
    {
        var plot = NewPlot($"{title} (ECE {ece:F3})");
        var used = bins.Where(b => b.Count > 0).ToList();
        var bars = plot.Add.Bars(used.Select(b => (b.Lower + b.Upper) / 2).ToArray(), used.Select(b => b.Accuracy).ToArray());
        foreach (var bar in bars.Bars)
        {
            bar.Size = 1.0 / bins.Count * 0.9;
        }
        bars.LegendText = "accuracy";
        var confidence = plot.Add.Scatter(
            used.Select(b => (b.Lower + b.Upper) / 2).ToArray(), used.Select(b => b.MeanConfidence).ToArray());
        confidence.LegendText = "mean confidence";
        return UnitSquare(plot, "confidence", "accuracy", Alignment.UpperLeft);
    }

    /// <summary>Finishes a plot over [0, 1] x [0, 1] with the dashed diagonal (chance, or perfect calibration).</summary>
    private static byte[] UnitSquare(Plot plot, string xLabel, string yLabel, Alignment legend)
    {
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.Color = Colors.Gray;
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.ShowLegend(legend);
        return Png(plot);
    }

    /// <summary>One line per run and series (for example, per fold: training and validation accuracy by epoch).</summary>
    public static byte[] LearningCurves(IReadOnlyList<(string Name, double[] Epochs, double[] Values)> series, string yLabel, string title)
    {
        var plot = NewPlot(title);
        foreach (var (name, epochs, values) in series)
        {
            var line = plot.Add.Scatter(epochs, values);
            line.LegendText = name;
            line.MarkerSize = 4;
        }
        plot.XLabel("epoch");
        plot.YLabel(yLabel);
        plot.ShowLegend();
        return Png(plot);
    }

    /// <summary>
    /// Grouped horizontal bars, one group per row (top to bottom in the given order) and one bar per metric,
    /// with ± one standard deviation where known.
    /// </summary>
    public static byte[] MetricBars(IReadOnlyList<(string Name, (double Mean, double Std) First, (double Mean, double Std) Second,
        (double Mean, double Std) Third)> rows, IReadOnlyList<string> metricNames, string title)
    {
        var plot = NewPlot(title);
        var palette = new ScottPlot.Palettes.Category10();
        const double barWidth = 0.26;
        var bars = new List<Bar>();
        for (int r = 0; r < rows.Count; r++)
        {
            var (_, first, second, third) = rows[r];
            (double Mean, double Std)[] metrics = [first, second, third];
            for (int m = 0; m < metrics.Length; m++)
            {
                bars.Add(new Bar
                {
                    Position = rows.Count - 1 - r - (m - 1) * barWidth,
                    Value = metrics[m].Mean,
                    Error = double.IsNaN(metrics[m].Std) ? 0 : metrics[m].Std,
                    Size = barWidth * 0.95,
                    FillColor = palette.GetColor(m),
                });
            }
        }
        plot.Add.Bars(bars).Horizontal = true;
        for (int m = 0; m < metricNames.Count; m++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = metricNames[m], FillColor = palette.GetColor(m) });
        }
        plot.Axes.Left.SetTicks(
            Enumerable.Range(0, rows.Count).Select(r => (double)(rows.Count - 1 - r)).ToArray(), rows.Select(r => r.Name).ToArray());
        plot.Axes.Left.TickLabelStyle.FontName = FontName;
        plot.Axes.SetLimits(0, 1, -0.6, rows.Count - 0.4);
        plot.XLabel("mean over folds (whiskers: ± 1 std)");
        plot.ShowLegend(Edge.Bottom);
        return plot.GetImageBytes(Width + 240, 120 + 70 * rows.Count, ImageFormat.Png);
    }
}
