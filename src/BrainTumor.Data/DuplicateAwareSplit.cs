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
