namespace BrainTumor.Evaluation;

/// <summary>
/// The published system's numbers (Nematzadeh et al., Front. Neurosci. 20:1772429, 2026), copied from
/// <c>../shared/paper-results.md</c> to stand beside ours in reports.
/// </summary>
public static class PaperResults
{
    public sealed record Row(string Model, string Accuracy, string MacroF1, string MacroAuc, string? Parameters = null);

    public sealed record ClassRow(string Label, string Precision, string Recall, string F1);

    public static IReadOnlyList<Row> Table1Ablation { get; } =
    [
        new("Custom CNN-Small", "0.728 ± 0.028", "0.720 ± 0.039", "0.917 ± 0.015", "6,516,100"),
        new("Custom CNN (Baseline)", "0.778 ± 0.034", "0.776 ± 0.036", "0.937 ± 0.017", "5,761,348"),
        new("Custom CNN-Deeper", "0.748 ± 0.030", "0.750 ± 0.029", "0.925 ± 0.016", "3,729,988"),
    ];

    public static IReadOnlyList<Row> Table2Comparison { get; } =
    [
        new("ResNet50 (ImageNet)", "0.835 ± 0.017", "0.843 ± 0.015", "0.965 ± 0.006"),
        new("DenseNet121 (ImageNet)", "0.809 ± 0.015", "0.817 ± 0.017", "0.953 ± 0.009"),
        new("MobileNetV2 (ImageNet)", "0.808 ± 0.018", "0.817 ± 0.019", "0.955 ± 0.009"),
        new("EfficientNetB0 (ImageNet)", "0.800 ± 0.023", "0.807 ± 0.019", "0.956 ± 0.008"),
        new("Custom CNN", "0.739 ± 0.039", "0.744 ± 0.042", "0.919 ± 0.018"),
    ];

    /// <summary>Table 3, custom CNN per class, fold-averaged; their "normal" is our <c>no_tumor</c>.</summary>
    public static IReadOnlyList<ClassRow> Table3PerClass { get; } =
    [
        new("glioma_tumor", "0.844 ± 0.073", "0.734 ± 0.086", "0.781 ± 0.053"),
        new("meningioma_tumor", "0.685 ± 0.042", "0.687 ± 0.074", "0.686 ± 0.047"),
        new("no_tumor", "0.803 ± 0.079", "0.742 ± 0.090", "0.769 ± 0.069"),
        new("pituitary_tumor", "0.834 ± 0.052", "0.923 ± 0.041", "0.875 ± 0.024"),
    ];

    public const string SingleSplit = "accuracy 0.97, MCC 0.96 on a single 352-image test split (earlier version; likely optimistic)";
}
