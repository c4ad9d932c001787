namespace BrainTumor.Api.Infrastructure;

/// <summary>What the server does with an image its model's out-of-distribution guard flags. Bound from the <c>OutOfDistribution</c>
/// section.</summary>
public sealed class OutOfDistributionOptions
{
    public const string Section = "OutOfDistribution";

    /// <summary>
    /// <c>Warn</c> (default): answer as usual, with <c>inDistribution.ok</c> false and <c>X-In-Distribution: false</c>;
    /// <c>Refuse</c>: answer 422 instead. Models without a guard answer either way.
    /// </summary>
    public OutOfDistributionPolicy Policy { get; set; } = OutOfDistributionPolicy.Warn;
}

public enum OutOfDistributionPolicy
{
    Warn,
    Refuse,
}
