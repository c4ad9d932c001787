using BrainTumor.Models;

namespace BrainTumor.Inference.Tests;

public sealed class FeatureDistributionTests : IDisposable
{
    private readonly string file = Path.GetTempFileName();

    public void Dispose() => File.Delete(file);

    /// <summary>Three classes of correlated 5-dimensional features around different means.</summary>
    private static (List<float[]> Features, List<int> Labels) Sample(int count, int seed)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var features = new List<float[]>();
        var labels = new List<int>();
        for (int i = 0; i < count; i++)
        {
            int label = i % 3;
            double a = Normal(), b = Normal();
            features.Add([(float)(label * 2 + a), (float)(a + 0.3 * b + 0.5 * Normal()), (float)(label - b), (float)(0.5 * Normal()),
                (float)(3 + Normal())]);
            labels.Add(label);
        }
        return (features, labels);
    }

    /// <summary>
    /// The same quantity written out directly: class means, pooled covariance, shrinkage, inverse by Gauss-Jordan elimination.
    /// </summary>
    private static double DirectScore(List<float[]> features, List<int> labels, double shrinkage, float[] x)
    {
        int d = x.Length;
        var means = Enumerable.Range(0, 3).Select(c => Enumerable.Range(0, d)
            .Select(j => features.Where((_, i) => labels[i] == c).Average(f => (double)f[j])).ToArray()).ToArray();
        var covariance = new double[d, d];
        for (int i = 0; i < features.Count; i++)
        {
            for (int a = 0; a < d; a++)
            {
                for (int b = 0; b < d; b++)
                {
                    covariance[a, b] += (features[i][a] - means[labels[i]][a]) * (features[i][b] - means[labels[i]][b]) / features.Count;
                }
            }
        }
        double trace = Enumerable.Range(0, d).Sum(a => covariance[a, a]);
        var augmented = new double[d, 2 * d];
        for (int a = 0; a < d; a++)
        {
            for (int b = 0; b < d; b++)
            {
                augmented[a, b] = (1 - shrinkage) * covariance[a, b] + (a == b ? shrinkage * trace / d : 0);
            }
            augmented[a, d + a] = 1;
        }
        for (int pivot = 0; pivot < d; pivot++)
        {
            double scale = augmented[pivot, pivot];
            for (int column = 0; column < 2 * d; column++) augmented[pivot, column] /= scale;
            for (int row = 0; row < d; row++)
            {
                if (row == pivot) continue;
                double factor = augmented[row, pivot];
                for (int column = 0; column < 2 * d; column++) augmented[row, column] -= factor * augmented[pivot, column];
            }
        }
        return means.Min(mean =>
        {
            double sum = 0;
            for (int a = 0; a < d; a++)
            {
                for (int b = 0; b < d; b++)
                {
                    sum += (x[a] - mean[a]) * augmented[a, d + b] * (x[b] - mean[b]);
                }
            }
            return sum;
        });
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    [InlineData(0.5)]
    public void TheScoreIsTheSquaredMahalanobisDistanceToTheNearestClassMean(double shrinkage)
    {
        var (features, labels) = Sample(300, seed: 1);
        var distribution = FeatureDistribution.Fit(features, labels, 3, shrinkage);

        foreach (var x in Sample(20, seed: 2).Features.Append([40f, -7f, 3f, 0f, 3f]))
        {
            double expected = DirectScore(features, labels, shrinkage, x);
            Assert.Equal(expected, distribution.Score(x), expected * 1e-4 + 1e-4);
        }
    }

    /// <summary>Ledoit-Wolf written out with explicit matrices: min(1, min(δ², b̄²) / δ²).</summary>
    private static double DirectLedoitWolf(List<float[]> features, List<int> labels)
    {
        int d = features[0].Length, n = features.Count;
        var means = Enumerable.Range(0, 3).Select(c => Enumerable.Range(0, d)
            .Select(j => features.Where((_, i) => labels[i] == c).Average(f => (double)f[j])).ToArray()).ToArray();
        var centred = features.Select((f, i) => f.Select((v, j) => v - means[labels[i]][j]).ToArray()).ToList();
        double[,] S = new double[d, d];
        foreach (var x in centred)
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    S[a, b] += x[a] * x[b] / n;
        double mu = Enumerable.Range(0, d).Sum(a => S[a, a]) / d;
        double delta = 0;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                delta += Math.Pow(S[a, b] - (a == b ? mu : 0), 2);
        double spread = 0;
        foreach (var x in centred)
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    spread += Math.Pow(x[a] * x[b] - S[a, b], 2);
        return Math.Min(delta, spread / n / n) / delta;
    }

    [Theory]
    [InlineData(30)]
    [InlineData(3000)]
    public void WithoutAGivenShrinkageTheLedoitWolfEstimateIsUsed(int count)
    {
        var (features, labels) = Sample(count, seed: 6);

        var distribution = FeatureDistribution.Fit(features, labels, 3, shrinkage: null);

        double expected = DirectLedoitWolf(features, labels);
        Assert.Equal(expected, distribution.Shrinkage, 1e-9);
        var x = Sample(1, seed: 7).Features[0];
        Assert.Equal(DirectScore(features, labels, expected, x), distribution.Score(x), 1e-3);
    }

    [Fact]
    public void FewerImagesPerDimensionGetMoreShrinkage()
    {
        var few = Sample(24, seed: 8);
        var many = Sample(3000, seed: 8);

        Assert.True(FeatureDistribution.Fit(few.Features, few.Labels, 3, null).Shrinkage
            > FeatureDistribution.Fit(many.Features, many.Labels, 3, null).Shrinkage);
    }

    [Fact]
    public void PointsFarFromEveryClassScoreHigherThanTheTrainingPoints()
    {
        var (features, labels) = Sample(300, seed: 1);
        var distribution = FeatureDistribution.Fit(features, labels, 3, 0.01);

        double typical = features.Max(f => distribution.Score(f));

        Assert.True(distribution.Score([0f, 0f, 0f, 0f, 30f]) > typical);
        Assert.True(distribution.Score([1f, 9f, -9f, 0f, 3f]) > typical);
    }

    [Fact]
    public void SavedStatisticsScoreExactlyAsTheFittedOnes()
    {
        var (features, labels) = Sample(90, seed: 4);
        var fitted = FeatureDistribution.Fit(features, labels, 3, 0.01);

        fitted.Save(file);
        var loaded = FeatureDistribution.Load(file);

        Assert.Equal((3, 5), (loaded.Classes, loaded.Dimensions));
        Assert.All(Sample(10, seed: 5).Features, x => Assert.Equal(fitted.Score(x), loaded.Score(x)));
    }

    [Fact]
    public void ATruncatedOrForeignFileIsRefusedAsInvalidData()
    {
        var (features, labels) = Sample(90, seed: 4);
        FeatureDistribution.Fit(features, labels, 3, 0.01).Save(file);
        byte[] bytes = File.ReadAllBytes(file);

        File.WriteAllBytes(file, bytes[..^7]);
        Assert.Contains("cut short", Assert.Throws<InvalidDataException>(() => FeatureDistribution.Load(file)).Message);

        File.WriteAllBytes(file, "not statistics at all"u8.ToArray());
        Assert.Throws<InvalidDataException>(() => FeatureDistribution.Load(file));
    }

    [Fact]
    public void AClassWithoutImagesCannotBeFitted()
    {
        var (features, _) = Sample(30, seed: 4);

        Assert.Throws<ArgumentException>(() => FeatureDistribution.Fit(features, features.Select(_ => 0).ToList(), 2, 0.01));
    }
}
