using System.Numerics.Tensors;

namespace BrainTumor.Models;

/// <summary>
/// How far an image's penultimate features lie from the training images': the squared Mahalanobis distance to the
/// nearest class mean under one covariance shared by all classes (Lee et al., "A simple unified framework for
/// detecting out-of-distribution samples and adversarial attacks", NeurIPS 2018). Higher means less like training.
/// </summary>
public sealed class FeatureDistribution
{
    private const string Magic = "BTFD1";

    private readonly float[] means;          // [classes, dimensions]
    private readonly float[] precision;      // [dimensions, dimensions], the inverse of the shrunk shared covariance
    private readonly float[] meanTerms;      // μᵀ P μ per class

    private FeatureDistribution(int classes, int dimensions, float[] means, float[] precision, double shrinkage)
    {
        Shrinkage = shrinkage;
        Classes = classes;
        Dimensions = dimensions;
        this.means = means;
        this.precision = precision;
        meanTerms = new float[classes];
        var projected = new float[dimensions];
        for (int c = 0; c < classes; c++)
        {
            Multiply(Mean(c), projected);
            meanTerms[c] = TensorPrimitives.Dot(Mean(c), projected);
        }
    }

    public int Classes { get; }
    public int Dimensions { get; }

    /// <summary>The shrinkage the covariance was fitted with (NaN for statistics loaded from a file).</summary>
    public double Shrinkage { get; }

    private ReadOnlySpan<float> Mean(int label) => means.AsSpan(label * Dimensions, Dimensions);

    /// <summary>
    /// Fits class means and the shared covariance, shrunk towards a multiple of the identity,
    /// Σ = (1 − λ) S + λ (tr S / d) I, so that channels that never fire on training images (variance 0) do not make it
    /// singular. λ is <paramref name="shrinkage"/>, or when null the Ledoit-Wolf estimate (Ledoit and Wolf, "A well-conditioned
    /// estimator for large-dimensional covariance matrices", 2004), which grows as the images get fewer per dimension.
    /// </summary>
    public static FeatureDistribution Fit(IReadOnlyList<float[]> features, IReadOnlyList<int> labels, int classes, double? shrinkage)
    {
        if (features.Count == 0 || features.Count != labels.Count)
        {
            throw new ArgumentException("One label per feature vector, and at least one of each.");
        }
        int d = features[0].Length;
        var means = new double[classes, d];
        var counts = new int[classes];
        for (int i = 0; i < features.Count; i++)
        {
            counts[labels[i]]++;
            for (int j = 0; j < d; j++)
            {
                means[labels[i], j] += features[i][j];
            }
        }
        if (counts.Any(count => count == 0))
        {
            throw new ArgumentException("Every class needs at least one image to fit its mean.");
        }
        for (int c = 0; c < classes; c++)
        {
            for (int j = 0; j < d; j++)
            {
                means[c, j] /= counts[c];
            }
        }

        var covariance = new double[d, d];
        var centred = new double[d];
        for (int i = 0; i < features.Count; i++)
        {
            for (int j = 0; j < d; j++)
            {
                centred[j] = features[i][j] - means[labels[i], j];
            }
            for (int a = 0; a < d; a++)
            {
                double ca = centred[a];
                for (int b = 0; b <= a; b++)
                {
                    covariance[a, b] += ca * centred[b];
                }
            }
        }
        double trace = 0;
        for (int a = 0; a < d; a++)
        {
            for (int b = 0; b <= a; b++)
            {
                covariance[a, b] /= features.Count;
                covariance[b, a] = covariance[a, b];
            }
            trace += covariance[a, a];
        }
        double lambda = shrinkage ?? LedoitWolf(features, labels, means, covariance, trace);
        double ridge = lambda * Math.Max(trace / d, 1e-12);
        for (int a = 0; a < d; a++)
        {
            for (int b = 0; b < d; b++)
            {
                covariance[a, b] = (1 - lambda) * covariance[a, b] + (a == b ? ridge : 0);
            }
        }

        var inverse = SymmetricInverse(covariance);
        var precision = new float[d * d];
        for (int a = 0; a < d; a++)
        {
            for (int b = 0; b < d; b++)
            {
                precision[a * d + b] = (float)inverse[a, b];
            }
        }
        var flatMeans = new float[classes * d];
        for (int c = 0; c < classes; c++)
        {
            for (int j = 0; j < d; j++)
            {
                flatMeans[c * d + j] = (float)means[c, j];
            }
        }
        return new FeatureDistribution(classes, d, flatMeans, precision, lambda);
    }

    /// <summary>
    /// The Ledoit-Wolf shrinkage towards μI, μ = tr S / d: b² / δ², where δ² = ‖S − μI‖² and b² = min(δ², (1/n²) Σₖ ‖xₖxₖᵀ − S‖²),
    /// with ‖xₖxₖᵀ − S‖² = ‖xₖ‖⁴ − 2 xₖᵀSxₖ + ‖S‖² for the class-centred features xₖ (Frobenius norms).
    /// </summary>
    private static double LedoitWolf(IReadOnlyList<float[]> features, IReadOnlyList<int> labels, double[,] means, double[,] covariance,
        double trace)
    {
        int n = features.Count, d = covariance.GetLength(0);
        double mu = trace / d;
        double squaredNorm = 0, delta = 0;
        for (int a = 0; a < d; a++)
        {
            for (int b = 0; b < d; b++)
            {
                double value = covariance[a, b];
                squaredNorm += value * value;
                double off = value - (a == b ? mu : 0);
                delta += off * off;
            }
        }
        var centred = new double[d];
        double spread = 0;
        for (int i = 0; i < n; i++)
        {
            double length = 0;
            for (int j = 0; j < d; j++)
            {
                centred[j] = features[i][j] - means[labels[i], j];
                length += centred[j] * centred[j];
            }
            double quadratic = 0;
            for (int a = 0; a < d; a++)
            {
                double row = 0;
                for (int b = 0; b < d; b++)
                {
                    row += covariance[a, b] * centred[b];
                }
                quadratic += centred[a] * row;
            }
            spread += length * length - 2 * quadratic + squaredNorm;
        }
        double bSquared = Math.Min(delta, spread / ((double)n * n));
        return delta > 0 ? Math.Clamp(bSquared / delta, 0, 1) : 1;
    }

    /// <summary>The squared Mahalanobis distance to the nearest class mean: (x − μ)ᵀ P (x − μ) = xᵀPx − 2 μᵀPx + μᵀPμ.</summary>
    public double Score(ReadOnlySpan<float> features)
    {
        if (features.Length != Dimensions)
        {
            throw new ArgumentException($"Expected {Dimensions} features, got {features.Length}.", nameof(features));
        }
        Span<float> projected = Dimensions <= 4096 ? stackalloc float[Dimensions] : new float[Dimensions];
        Multiply(features, projected);
        double self = TensorPrimitives.Dot(features, projected);
        double nearest = double.PositiveInfinity;
        for (int c = 0; c < Classes; c++)
        {
            nearest = Math.Min(nearest, self - 2.0 * TensorPrimitives.Dot(Mean(c), projected) + meanTerms[c]);
        }
        return Math.Max(nearest, 0);
    }

    private void Multiply(ReadOnlySpan<float> vector, Span<float> result)
    {
        for (int row = 0; row < Dimensions; row++)
        {
            result[row] = TensorPrimitives.Dot(precision.AsSpan(row * Dimensions, Dimensions), vector);
        }
    }

    public void Save(string path)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(Magic);
        writer.Write(Classes);
        writer.Write(Dimensions);
        foreach (float value in means)
        {
            writer.Write(value);
        }
        foreach (float value in precision)
        {
            writer.Write(value);
        }
    }

    /// <exception cref="InvalidDataException">The file is not a feature distribution, or is cut short.</exception>
    public static FeatureDistribution Load(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        try
        {
            if (reader.ReadString() != Magic)
            {
                throw new InvalidDataException($"{path} is not a feature distribution file.");
            }
            int classes = reader.ReadInt32();
            int dimensions = reader.ReadInt32();
            if (classes is < 1 or > 1000 || dimensions is < 1 or > 8192)
            {
                throw new InvalidDataException($"{path}: {classes} classes of {dimensions} features is not plausible.");
            }
            var means = ReadFloats(reader, classes * dimensions);
            var precision = ReadFloats(reader, dimensions * dimensions);
            return new FeatureDistribution(classes, dimensions, means, precision, double.NaN);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{path} is cut short.");
        }
    }

    private static float[] ReadFloats(BinaryReader reader, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = reader.ReadSingle();
        }
        return values;
    }

    /// <summary>Inverts a symmetric positive-definite matrix through its Cholesky factor.</summary>
    private static double[,] SymmetricInverse(double[,] matrix)
    {
        int n = matrix.GetLength(0);
        var lower = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double sum = matrix[i, j];
                for (int k = 0; k < j; k++)
                {
                    sum -= lower[i, k] * lower[j, k];
                }
                if (i == j)
                {
                    if (sum <= 0)
                    {
                        throw new InvalidOperationException("The covariance is not positive definite; use a larger shrinkage.");
                    }
                    lower[i, i] = Math.Sqrt(sum);
                }
                else
                {
                    lower[i, j] = sum / lower[j, j];
                }
            }
        }
        // L⁻¹ by forward substitution, then Σ⁻¹ = L⁻ᵀ L⁻¹.
        var lowerInverse = new double[n, n];
        for (int column = 0; column < n; column++)
        {
            for (int i = column; i < n; i++)
            {
                double sum = i == column ? 1 : 0;
                for (int k = column; k < i; k++)
                {
                    sum -= lower[i, k] * lowerInverse[k, column];
                }
                lowerInverse[i, column] = sum / lower[i, i];
            }
        }
        var inverse = new double[n, n];
        for (int a = 0; a < n; a++)
        {
            for (int b = 0; b <= a; b++)
            {
                double sum = 0;
                for (int k = a; k < n; k++)
                {
                    sum += lowerInverse[k, a] * lowerInverse[k, b];
                }
                inverse[a, b] = inverse[b, a] = sum;
            }
        }
        return inverse;
    }
}
