using BrainTumor.Tests;
using static BrainTumor.Imaging.Tests.PreprocessingImages;

namespace BrainTumor.Imaging.Tests;

public sealed class IntensityMappingTests
{
    [DatasetTheory]
    [InlineData(0.5, 0)]
    [InlineData(0.6, 60)]
    [InlineData(0.8, 30)]
    [InlineData(1.0, 40)]
    public void StandardisationDoesNotDependOnBrightnessOrContrast(double gain, double offset)
    {
        foreach (var (label, index) in new[] { ("glioma_tumor", 0), ("no_tumor", 200), ("pituitary_tumor", 10) })
        {
            using var slice = Slice(label, index);
            // Values above (255 - offset) / gain are clipped in the relit copy; compare on an unclipped original.
            using var original = Relit(slice, Math.Min(1, (255 - offset) / 255 / gain), 0);
            using var relitUnclipped = Relit(original, gain, offset);

            var reference = Preprocessing.HeadStandardised.Prepare(original, 224, 224).Pixels;
            var standardised = Preprocessing.HeadStandardised.Prepare(relitUnclipped, 224, 224).Pixels;
            var untouched = Preprocessing.Stretch.Prepare(original, 224, 224).Pixels;
            var untouchedRelit = Preprocessing.Stretch.Prepare(relitUnclipped, 224, 224).Pixels;

            Assert.True(MeanAbsoluteDifference(untouched, untouchedRelit) > 5, $"{label}: the change itself is too small to test anything");
            double difference = MeanAbsoluteDifference(reference, standardised);
            Assert.True(difference < 2.5,
                $"{label}, gain {gain}, offset {offset}: standardised inputs differ by {difference:F2} grey levels on average");
        }
    }

    [DatasetFact]
    public void StandardisationMapsTheBackgroundToBlackAndTheHeadToTheTarget()
    {
        using var slice = Relit(Slice("no_tumor", 0), 0.5, 50);

        var input = Preprocessing.HeadStandardised.Prepare(slice, 224, 224).Pixels;

        Assert.Equal(0, input.Planes[0]);
        var sorted = input.Planes.Take(input.PixelCount).Where(v => v > 0).Order().ToArray();
        Assert.InRange(sorted[(int)(0.99 * sorted.Length)], IntensityMapping.HeadHighTarget - 24, 255);
    }
}
