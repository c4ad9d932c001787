using BrainTumor.Data;

namespace BrainTumor.Data.Tests;

public class DuplicateAwareSplitTests
{
    /// <summary>400 samples over 4 classes where every fifth image has an exact duplicate.</summary>
    private static List<(int Label, string Sha256)> Samples()
    {
        var samples = new List<(int, string)>();
        for (int i = 0; i < 400; i++)
        {
            int label = i % 4;
            samples.Add((label, $"hash-{i}"));
            if (i % 5 == 0)
            {
                samples.Add((label, $"hash-{i}"));
            }
        }
        return samples;
    }

    [Fact]
    public void DuplicatesNeverStraddleTheSplit()
    {
        var samples = Samples();

        var split = DuplicateAwareSplit.StratifiedHoldout(samples, 0.15, seed: 3);

        var trainHashes = split.Train.Select(i => samples[i].Sha256).ToHashSet();
        Assert.DoesNotContain(split.Validation, i => trainHashes.Contains(samples[i].Sha256));
        Assert.Equal(samples.Count, split.Train.Count + split.Validation.Count);
        Assert.Equal(samples.Count, split.Train.Concat(split.Validation).Distinct().Count());
    }

    [Fact]
    public void EveryClassGivesItsShareToValidation()
    {
        var samples = Samples();

        var split = DuplicateAwareSplit.StratifiedHoldout(samples, 0.15, seed: 3);

        for (int label = 0; label < 4; label++)
        {
            int classSize = samples.Count(s => s.Label == label);
            int held = split.Validation.Count(i => samples[i].Label == label);
            Assert.InRange(held, (int)(0.15 * classSize) - 1, (int)(0.15 * classSize) + 2);
        }
    }

    [Fact]
    public void TheSameSeedGivesTheSameSplitAndAnotherSeedAnother()
    {
        var samples = Samples();

        var first = DuplicateAwareSplit.StratifiedHoldout(samples, 0.15, seed: 3);
        var again = DuplicateAwareSplit.StratifiedHoldout(samples, 0.15, seed: 3);
        var other = DuplicateAwareSplit.StratifiedHoldout(samples, 0.15, seed: 4);

        Assert.Equal(first.Validation, again.Validation);
        Assert.NotEqual(first.Validation, other.Validation);
    }

    [Fact]
    public void AFractionOutsideZeroToOneIsRefused()
    {
        Assert.Throws<DatasetException>(() => DuplicateAwareSplit.StratifiedHoldout(Samples(), 1.5, seed: 3));
    }
}

public class StratifiedKFoldTests
{
    private static List<(int Label, string Sha256)> Samples()
    {
        var samples = new List<(int, string)>();
        for (int i = 0; i < 300; i++)
        {
            samples.Add((i % 3, $"h{i}"));
            if (i % 7 == 0)
            {
                samples.Add((i % 3, $"h{i}"));
            }
        }
        return samples;
    }

    [Fact]
    public void DuplicatesShareAFoldAndEveryFoldHoldsItsShareOfEachClass()
    {
        var samples = Samples();

        int[] folds = DuplicateAwareSplit.StratifiedKFold(samples, 5, seed: 1);

        Assert.All(samples.Select((s, i) => (s.Sha256, Fold: folds[i])).GroupBy(x => x.Sha256),
            group => Assert.Single(group.Select(x => x.Fold).Distinct()));
        for (int label = 0; label < 3; label++)
        {
            var perFold = Enumerable.Range(0, 5).Select(f => samples.Where((s, i) => s.Label == label && folds[i] == f).Count()).ToList();
            Assert.InRange(perFold.Max() - perFold.Min(), 0, 2);
        }
    }

    [Fact]
    public void FoldsPartitionTheSamplesAndRepeatWithTheSeed()
    {
        var samples = Samples();
        int[] folds = DuplicateAwareSplit.StratifiedKFold(samples, 5, seed: 1);

        var splits = Enumerable.Range(0, 5).Select(f => DuplicateAwareSplit.Fold(folds, f)).ToList();

        Assert.Equal(samples.Count, splits.Sum(s => s.Validation.Count));
        Assert.All(splits, s => Assert.Equal(samples.Count, s.Train.Count + s.Validation.Count));
        Assert.Equal(folds, DuplicateAwareSplit.StratifiedKFold(samples, 5, seed: 1));
        Assert.NotEqual(folds, DuplicateAwareSplit.StratifiedKFold(samples, 5, seed: 2));
    }

    [Fact]
    public void FewerThanTwoFoldsIsRefused()
    {
        Assert.Throws<DatasetException>(() => DuplicateAwareSplit.StratifiedKFold(Samples(), 1, seed: 1));
    }
}
