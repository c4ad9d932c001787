namespace BrainTumor.Evaluation;

internal static class RandomExtensions
{
    /// <summary>A draw from the standard normal distribution (Box-Muller), for noise and random weights.</summary>
    public static double NextStandardNormal(this Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
