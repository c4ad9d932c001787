using BrainTumor.Models;

namespace BrainTumor.Evaluation;

public sealed record ClassMetrics(string Label, double Precision, double Recall, double F1, int Support);

/// <summary>Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix of one evaluation.</summary>
public sealed record ClassificationMetrics(
    int Count, double Accuracy, double MacroF1, IReadOnlyList<ClassMetrics> PerClass, int[][] ConfusionMatrix)
{
    /// <summary>The label that means "no tumour"; every other label is a tumour.</summary>
    public const string NoTumorLabel = ClassProbabilities.NoTumorLabel;

    private int NoTumorIndex => PerClass.ToList().FindIndex(c => c.Label == NoTumorLabel);

    /// <summary>Tumour images (any label but <see cref="NoTumorLabel"/>) that were called <see cref="NoTumorLabel"/>; null without that
    /// label.</summary>
    public int? TumoursMissed => NoTumorIndex is int n and >= 0
        ? ConfusionMatrix.Where((_, t) => t != n).Sum(row => row[n])
        : null;

    /// <summary>
    /// The share of tumour images not called <see cref="NoTumorLabel"/>, whichever tumour they were called: the
    /// clinically worst error is a missed tumour. Null without that label or without tumour images.
    /// </summary>
    public double? TumourSensitivity
    {
        get
        {
            int n = NoTumorIndex;
            if (n < 0) return null;
            int tumours = ConfusionMatrix.Where((_, t) => t != n).Sum(row => row.Sum());
            return tumours == 0 ? null : 1 - (double)TumoursMissed!.Value / tumours;
        }
    }

    /// <summary>
    /// <paramref name="truth"/> and <paramref name="predicted"/> are class indices into <paramref name="labels"/>.
    /// The confusion matrix is indexed [true class][predicted class]. A class never predicted has
    /// precision 0, and one never present has recall 0, so that macro averages do not hide them.
    /// </summary>
    public static ClassificationMetrics Compute(IReadOnlyList<int> truth, IReadOnlyList<int> predicted, IReadOnlyList<string> labels)
    {
        if (truth.Count != predicted.Count)
        {
            throw new ArgumentException($"{truth.Count} true labels but {predicted.Count} predictions.");
        }
        if (truth.Count == 0)
        {
            throw new ArgumentException("There is nothing to evaluate.");
        }
        int classes = labels.Count;
        var confusion = Enumerable.Range(0, classes).Select(_ => new int[classes]).ToArray();
        for (int i = 0; i < truth.Count; i++)
        {
            if ((uint)truth[i] >= classes || (uint)predicted[i] >= classes)
            {
                throw new ArgumentOutOfRangeException(nameof(truth), $"Class index out of range at sample {i}.");
            }
            confusion[truth[i]][predicted[i]]++;
        }

        var perClass = new ClassMetrics[classes];
        int correct = 0;
        for (int c = 0; c < classes; c++)
        {
            int truePositives = confusion[c][c];
            int support = confusion[c].Sum();
            int predictedCount = confusion.Sum(row => row[c]);
            correct += truePositives;
            double precision = predictedCount == 0 ? 0 : (double)truePositives / predictedCount;
            double recall = support == 0 ? 0 : (double)truePositives / support;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perClass[c] = new ClassMetrics(labels[c], precision, recall, f1, support);
        }
        return new ClassificationMetrics(truth.Count, (double)correct / truth.Count, perClass.Average(m => m.F1), perClass, confusion);
    }
}
