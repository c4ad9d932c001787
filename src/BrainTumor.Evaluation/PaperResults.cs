using System.Globalization;

namespace BrainTumor.Evaluation;

/// <summary>
/// The published system's numbers (Nematzadeh et al., Front. Neurosci. 20:1772429, 2026), copied from
/// <c>../shared/paper-results.md</c> to stand beside ours in reports.
/// </summary>
public static class PaperResults
{
    /// <summary>A mean ± standard deviation over the paper's five folds.</summary>
    public readonly record struct Reported(double Mean, double Std)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Mean:F3} ± {Std:F3}");
    }

    public sealed record Row(string Model, Reported Accuracy, Reported MacroF1, Reported MacroAuc, string? Parameters = null);

    public sealed record ClassRow(string Label, Reported Precision, Reported Recall, Reported F1)
    {
        /// <summary>Precision, recall and F1 as three cells of a markdown table row.</summary>
        public string TableCells => $"{Precision} | {Recall} | {F1}";
    }

    public static IReadOnlyList<Row> Table1Ablation { get; } =
    [
        new("Custom CNN-Small", new(0.728, 0.028), new(0.720, 0.039), new(0.917, 0.015), "6,516,100"),
        new("Custom CNN (Baseline)", new(0.778, 0.034), new(0.776, 0.036), new(0.937, 0.017), "5,761,348"),
        new("Custom CNN-Deeper", new(0.748, 0.030), new(0.750, 0.029), new(0.925, 0.016), "3,729,988"),
    ];

    public static IReadOnlyList<Row> Table2Comparison { get; } =
    [
        new("ResNet50 (ImageNet)", new(0.835, 0.017), new(0.843, 0.015), new(0.965, 0.006)),
        new("DenseNet121 (ImageNet)", new(0.809, 0.015), new(0.817, 0.017), new(0.953, 0.009)),
        new("MobileNetV2 (ImageNet)", new(0.808, 0.018), new(0.817, 0.019), new(0.955, 0.009)),
        new("EfficientNetB0 (ImageNet)", new(0.800, 0.023), new(0.807, 0.019), new(0.956, 0.008)),
        new("Custom CNN", new(0.739, 0.039), new(0.744, 0.042), new(0.919, 0.018)),
    ];

    /// <summary>Table 3, custom CNN per class, fold-averaged; their "normal" is our <c>no_tumor</c>.</summary>
    public static IReadOnlyList<ClassRow> Table3PerClass { get; } =
    [
        new("glioma_tumor", new(0.844, 0.073), new(0.734, 0.086), new(0.781, 0.053)),
        new("meningioma_tumor", new(0.685, 0.042), new(0.687, 0.074), new(0.686, 0.047)),
        new("no_tumor", new(0.803, 0.079), new(0.742, 0.090), new(0.769, 0.069)),
        new("pituitary_tumor", new(0.834, 0.052), new(0.923, 0.041), new(0.875, 0.024)),
    ];

    /// <summary>
    /// The paper's rows to set beside a cross-validation of <paramref name="architecture"/>: its counterpart in the
    /// paper where there is one, then the paper's custom CNN, which every other row is measured against.
    /// </summary>
    public static IReadOnlyList<(string Heading, Row Row)> ReferencesFor(string architecture)
    {
        var baseline = ("paper Table 1 baseline", Table1Ablation[1]);
        var customCnn = ("paper Table 2 custom CNN", Table2Comparison[^1]);
        return architecture switch
        {
            "paper-cnn-small" => [("paper Table 1 CNN-Small", Table1Ablation[0]), baseline],
            "paper-cnn-deeper" => [("paper Table 1 CNN-Deeper", Table1Ablation[2]), baseline],
            "resnet50" => [("paper Table 2 ResNet50 (ImageNet)", Table2Comparison[0]), customCnn],
            "densenet121" => [("paper Table 2 DenseNet121 (ImageNet)", Table2Comparison[1]), customCnn],
            "mobilenetv2" => [("paper Table 2 MobileNetV2 (ImageNet)", Table2Comparison[2]), customCnn],
            "efficientnetb0" => [("paper Table 2 EfficientNetB0 (ImageNet)", Table2Comparison[3]), customCnn],
            _ => [baseline, customCnn],
        };
    }

    public const string SingleSplit = "accuracy 0.97, MCC 0.96 on a single 352-image test split (earlier version; likely optimistic)";
}
