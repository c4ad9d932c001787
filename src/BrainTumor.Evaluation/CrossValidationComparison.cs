using System.Globalization;
using System.Text;

namespace BrainTumor.Evaluation;

/// <summary>Which of the paper's cross-validation tables to list beside ours.</summary>
public enum PaperTable
{
    Both,
    Ablation,
    Comparison,
    None,
}

/// <summary>
/// Gathers several cross-validation reports (<c>report.json</c> of <c>cv</c> runs) into one table beside the
/// paper's Table 1 (ablation) and Table 2 (comparison).
/// </summary>
public static class CrossValidationComparison
{
    private sealed record Row(
        string Folder, string Architecture, long Parameters, int ImageSize, int FoldsDone, int Folds, Summary Accuracy, Summary MacroF1,
        Summary MacroAuc);

    public const string ChartFile = "comparison.png";

    /// <summary>
    /// Writes <c>report.md</c> (the table, each of our rows linked to its run's report) and
    /// <see cref="ChartFile"/> (the three metrics of every row, ours and the paper's) into <paramref name="outputFolder"/>.
    /// </summary>
    public static void Save(IReadOnlyList<string> reportFolders, string title, PaperTable paperTable, string outputFolder)
    {
        var rows = reportFolders.Select(Read).ToList();
        var paperRows = PaperRows(paperTable);
        Directory.CreateDirectory(outputFolder);
        string markdown = Markdown(rows, paperRows, title, outputFolder) +
            $"{Environment.NewLine}![accuracy, macro-F1 and macro-AUC of every row]({ChartFile}){Environment.NewLine}";
        File.WriteAllText(Path.Combine(outputFolder, "report.md"), markdown);
        var bars = rows.Select(r => ($"ours: {r.Architecture}", Bar(r.Accuracy), Bar(r.MacroF1), Bar(r.MacroAuc)))
            .Concat(paperRows.Select(p => ($"paper: {p.Model}", Bar(p.Accuracy), Bar(p.MacroF1), Bar(p.MacroAuc))))
            .ToList();
        File.WriteAllBytes(Path.Combine(outputFolder, ChartFile), Plots.MetricBars(bars, ["accuracy", "macro-F1", "macro-AUC"], title));
    }

    /// <summary>The table alone, for printing.</summary>
    public static string Markdown(IReadOnlyList<string> reportFolders, string title, PaperTable paperTable = PaperTable.Both) =>
        Markdown(reportFolders.Select(Read).ToList(), PaperRows(paperTable), title, linkFrom: null);

    private static IReadOnlyList<PaperResults.Row> PaperRows(PaperTable paperTable) => paperTable switch
    {
        PaperTable.Ablation => PaperResults.Table1Ablation,
        PaperTable.Comparison => PaperResults.Table2Comparison,
        PaperTable.None => [],
        _ => PaperResults.Table1Ablation.Concat(PaperResults.Table2Comparison).ToList(),
    };

    private static (double Mean, double Std) Bar(Summary summary) => (summary.Mean, summary.Std);

    private static (double Mean, double Std) Bar(PaperResults.Reported reported) => (reported.Mean, reported.Std);

    /// <param name="linkFrom">Folder the table is written to, so each of our rows links to its run's report; null for no links.</param>
    private static string Markdown(IReadOnlyList<Row> rows, IReadOnlyList<PaperResults.Row> paperRows, string title, string? linkFrom)
    {
        var text = new StringBuilder();
        text.AppendLine($"# {title}");
        text.AppendLine();
        text.AppendLine("| model | input | parameters | folds | accuracy | macro-F1 | macro-AUC |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            string folds = row.FoldsDone == row.Folds ? $"{row.Folds}" : $"{row.FoldsDone} of {row.Folds} (incomplete)";
            // Runs of one architecture (an ablation) are told apart by their folders' names.
            string label = rows.Count(r => r.Architecture == row.Architecture) > 1
                ? $"{row.Architecture} ({Path.GetFileName(Path.TrimEndingDirectorySeparator(row.Folder))})"
                : row.Architecture;
            string name = linkFrom is null
                ? label
                : $"[{label}]({Path.GetRelativePath(linkFrom, Path.Combine(row.Folder, "report.md")).Replace('\\', '/')})";
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| ours: {name} | {row.ImageSize}x{row.ImageSize} | {row.Parameters:N0} | {folds} | " +
                $"{row.Accuracy} | {row.MacroF1} | {row.MacroAuc} |"));
        }
        foreach (var paper in paperRows)
        {
            text.AppendLine($"| paper: {paper.Model} | 224x224 | {paper.Parameters ?? "-"} | 5 | " +
                            $"{paper.Accuracy} | {paper.MacroF1} | {paper.MacroAuc} |");
        }
        text.AppendLine();
        text.AppendLine("Mean ± sample standard deviation over test folds. " +
                        "The paper's transfer-learning models start from ImageNet weights; ours train from " +
                        "scratch, except `resnet18`, which starts from ImageNet weights too.");
        var paired = rows.Skip(1).Select(row => (row, PairedComparison.Of(rows[0].Folder, row.Folder)))
            .Where(p => p.Item2 is not null).ToList();
        if (paired.Count > 0)
        {
            text.AppendLine();
            text.AppendLine($"Paired with the first row ({rows[0].Architecture}, `{rows[0].Folder}`) " +
                            "on the test images of the folds both have finished " +
                            "(exact McNemar test on the images only one of the two got right):");
            text.AppendLine();
            text.AppendLine("| model | folds | images | accuracy difference | only the first right | only this one right | p |");
            text.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var (row, comparison) in paired)
            {
                text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {row.Architecture} (`{row.Folder}`) | {comparison!.Folds} | {comparison.Images} | " +
                    $"{comparison.AccuracyDifference:+0.000;-0.000;0.000} | {comparison.OnlyFirstRight} | " +
                    $"{comparison.OnlySecondRight} | {comparison.PValue:0.000} |"));
            }
        }
        return text.ToString();
    }

    private static Row Read(string folder)
    {
        var saved = CrossValidationReport.Read(folder)
            ?? throw new FileNotFoundException($"'{Path.Combine(folder, "report.json")}' does not exist; run cv first.");
        var setup = saved.Setup;
        return new Row(folder, setup.Architecture, setup.Parameters, setup.ImageSize, saved.FoldsDone, setup.Folds,
            saved.Summaries["accuracy"], saved.Summaries["macro-F1"], saved.Summaries["macro-AUC"]);
    }
}
