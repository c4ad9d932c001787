namespace BrainTumor.Data;

/// <summary>
/// Seeded, stratified splits in which exact duplicates (same SHA-256) always land on the same side, so that
/// no validation image is also a training image.
/// </summary>
public static class DuplicateAwareSplit
{
    public sealed record Split(IReadOnlyList<int> Train, IReadOnlyList<int> Validation);

    /// <summary>
    /// Holds out about <paramref name="validationFraction"/> of each class. Duplicate groups are shuffled
    /// with <paramref name="seed"/> and taken whole until the class's share is reached.
    /// </summary>
    public static Split StratifiedHoldout(IReadOnlyList<(int Label, string Sha256)> samples, double validationFraction, int seed)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
        {
            throw new DatasetException($"The validation fraction must be between 0 and 1, not {validationFraction}.");
        }
        var validation = new List<int>();
        var train = new List<int>();
        foreach (var classGroups in Groups(samples).GroupBy(g => g.Label).OrderBy(g => g.Key))
        {
            var groups = classGroups.ToArray();
            new Random(DerivedSeed(seed, classGroups.Key)).Shuffle(groups);
            int classSize = groups.Sum(g => g.Members.Count);
            int target = (int)Math.Round(validationFraction * classSize);
            int taken = 0;
            foreach (var group in groups)
            {
                bool toValidation = taken < target;
                (toValidation ? validation : train).AddRange(group.Members);
                if (toValidation)
                {
                    taken += group.Members.Count;
                }
            }
        }
        train.Sort();
        validation.Sort();
        return new Split(train, validation);
    }

    /// <summary>
    /// Assigns every sample to one of <paramref name="folds"/> folds, stratified by class: duplicate groups
    /// are shuffled with <paramref name="seed"/> and each goes whole to the fold that has the fewest images
    /// of its class so far. Returns the fold of each sample.
    /// </summary>
    public static int[] StratifiedKFold(IReadOnlyList<(int Label, string Sha256)> samples, int folds, int seed)
    {
        if (folds < 2)
        {
            throw new DatasetException($"Cross-validation needs at least 2 folds, not {folds}.");
        }
        var assignment = new int[samples.Count];
        foreach (var classGroups in Groups(samples).GroupBy(g => g.Label).OrderBy(g => g.Key))
        {
            var groups = classGroups.ToArray();
            if (groups.Length < folds)
            {
                throw new DatasetException($"Class {classGroups.Key} has {groups.Length} distinct images, fewer than {folds} folds.");
            }
            new Random(DerivedSeed(seed, 500 + classGroups.Key)).Shuffle(groups);
            var counts = new int[folds];
            foreach (var group in groups)
            {
                int fold = Array.IndexOf(counts, counts.Min());
                counts[fold] += group.Members.Count;
                foreach (int member in group.Members)
                {
                    assignment[member] = fold;
                }
            }
        }
        return assignment;
    }

    /// <summary>The samples of <paramref name="fold"/> as <see cref="Split.Validation"/>, all others as
    /// <see cref="Split.Train"/>.</summary>
    public static Split Fold(IReadOnlyList<int> assignment, int fold) => new(
        Enumerable.Range(0, assignment.Count).Where(i => assignment[i] != fold).ToList(),
        Enumerable.Range(0, assignment.Count).Where(i => assignment[i] == fold).ToList());

    /// <summary>A stable per-purpose seed (HashCode.Combine is randomised per process, so it cannot be used).</summary>
    public static int DerivedSeed(int seed, int purpose) => unchecked(seed * 1_000_003 + purpose * 7_919 + 17);

    private sealed record Group(int Label, List<int> Members);

    /// <summary>Groups sample indices by content hash, in first-seen order; a group takes its first member's label.</summary>
    private static List<Group> Groups(IReadOnlyList<(int Label, string Sha256)> samples)
    {
        var byHash = new Dictionary<string, Group>(StringComparer.Ordinal);
        var groups = new List<Group>();
        for (int i = 0; i < samples.Count; i++)
        {
            if (!byHash.TryGetValue(samples[i].Sha256, out var group))
            {
                group = new Group(samples[i].Label, []);
                byHash.Add(samples[i].Sha256, group);
                groups.Add(group);
            }
            group.Members.Add(i);
        }
        return groups;
    }
}
