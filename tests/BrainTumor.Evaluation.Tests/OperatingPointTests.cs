using BrainTumor.Evaluation;
using BrainTumor.Models;

namespace BrainTumor.Evaluation.Tests;

public sealed class OperatingPointTests
{
    private static readonly string[] Labels = ["glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor"];

    [Fact]
    public void AMinimumOfZeroIsTheArgmaxAndAHigherOneAnswersTheMostProbableTumour()
    {
        float[] probabilities = [0.10f, 0.25f, 0.60f, 0.05f];

        Assert.Equal(2, ClassProbabilities.Decide(probabilities, noTumor: 2, noTumorMinimum: 0));
        Assert.Equal(2, ClassProbabilities.Decide(probabilities, noTumor: 2, noTumorMinimum: 0.6));
        Assert.Equal(1, ClassProbabilities.Decide(probabilities, noTumor: 2, noTumorMinimum: 0.61));
    }

    [Fact]
    public void TheFitChoosesTheSmallestMinimumThatReachesTheTargetSensitivity()
    {
        // Four tumours, one of them with no_tumor at 0.72; two true no_tumor slices at 0.8 and 0.9.
        float[][] probabilities =
        [
            [0.9f, 0.05f, 0.05f, 0f], [0.18f, 0.1f, 0.72f, 0f], [0f, 0.8f, 0.2f, 0f], [0f, 0f, 0.1f, 0.9f],
            [0.1f, 0.1f, 0.8f, 0f], [0.05f, 0.05f, 0.9f, 0f],
        ];
        int[] truth = [0, 0, 1, 3, 2, 2];

        var point = OperatingPointFit.Fit(probabilities, truth, Labels, targetSensitivity: 1.0, "synthetic");

        Assert.Equal(0.721, point.NoTumorMinimum, 6);
        Assert.Equal(0.75, point.AtArgmax.TumourSensitivity);
        Assert.Equal(1.0, point.AtMinimum.TumourSensitivity);
        Assert.Equal(1.0, point.AtMinimum.NoTumorRecall);
        Assert.Equal(1.0, point.AtMinimum.Accuracy);
    }
}
