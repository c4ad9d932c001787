using System.Text.Json;
using BrainTumor.Models;

namespace BrainTumor.Evaluation;

/// <summary>
/// Two cross-validation runs compared on the same test images (the folds both have finished; the same data and seed give
/// the same folds): how many images only one of them got right, and the exact McNemar test of that split. Paired, it
/// sees differences that two separate intervals of the same width would hide.
/// </summary>
public sealed record PairedComparison(int Folds, int Images, int OnlyFirstRight, int OnlySecondRight)
{
    /// <summary>Accuracy of the second run minus that of the first.</summary>
    public double AccuracyDifference => (double)(OnlySecondRight - OnlyFirstRight) / Images;

    /// <summary>Two-sided exact McNemar test: the binomial probability of a split of the discordant images at least this uneven.</summary>
    public double PValue => McNemarExact(OnlyFirstRight, OnlySecondRight);

    public static double McNemarExact(int onlyFirst, int onlySecond)
    {
        int discordant = onlyFirst + onlySecond;
        if (discordant == 0)
        {
            return 1;
        }
        // P(X <= min) for X ~ Binomial(discordant, 1/2), summed in log space so that large counts do not overflow.
        int smaller = Math.Min(onlyFirst, onlySecond);
        double logHalf = discordant * Math.Log(0.5), tail = 0, logChoose = 0;
        for (int k = 0; k <= smaller; k++)
        {
            if (k > 0)
            {
                logChoose += Math.Log(discordant - k + 1) - Math.Log(k);
            }
            tail += Math.Exp(logChoose + logHalf);
        }
        return Math.Min(1, 2 * tail);
    }

    /// <summary>Compares the <c>fold-N.json</c> files two <c>cv</c> runs have in common; null when they share no finished fold.</summary>
    public static PairedComparison? Of(string firstFolder, string secondFolder)
    {
        int folds = 0, images = 0, onlyFirst = 0, onlySecond = 0;
        // Fold files are numbered from 1; a run has at most as many as its folds, and no run here has more than 20.
        for (int fold = 1; fold <= 20; fold++)
        {
            if (ReadFold(firstFolder, fold) is not { } first || ReadFold(secondFolder, fold) is not { } second)
            {
                continue;
            }
            if (!first.Truth.SequenceEqual(second.Truth))
            {
                throw new InvalidOperationException($"Fold {fold} of '{firstFolder}' and '{secondFolder}' holds other images; " +
                    "only runs on the same data and seed can be paired.");
            }
            for (int i = 0; i < first.Truth.Length; i++)
            {
                bool firstRight = ClassProbabilities.ArgMax(first.Probabilities[i]) == first.Truth[i];
                bool secondRight = ClassProbabilities.ArgMax(second.Probabilities[i]) == second.Truth[i];
                onlyFirst += firstRight && !secondRight ? 1 : 0;
                onlySecond += secondRight && !firstRight ? 1 : 0;
            }
            folds++;
            images += first.Truth.Length;
        }
        return folds == 0 ? null : new PairedComparison(folds, images, onlyFirst, onlySecond);
    }

    private static FoldData? ReadFold(string folder, int fold)
    {
        string path = Path.Combine(folder, $"fold-{fold}.json");
        return File.Exists(path) ? JsonSerializer.Deserialize<FoldData>(File.ReadAllText(path), ModelManifest.JsonOptions) : null;
    }
}
