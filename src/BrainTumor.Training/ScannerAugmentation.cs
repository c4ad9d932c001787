using TorchSharp;
using static BrainTumor.Training.HeldScalars;
using static TorchSharp.torch;

namespace BrainTumor.Training;

public enum AugmentationMode
{
    /// <summary>The paper's: random horizontal flip and a small rotation.</summary>
    Paper,

    /// <summary>The paper's, plus changes that imitate other scanners, sequences and exports (<see cref="ScannerAugmentation"/>).</summary>
    Scanner,

    /// <summary>
    /// <see cref="Scanner"/>, plus random grey-level curves (<see cref="ScannerAugmentation.SequenceDescription"/>): every Training
    /// glioma is a contrast-enhanced T1 slice, while Testing gliomas are often FLAIR or T2, where the same tissues have other
    /// relative brightness; random curves make tissue contrast an unreliable cue, so that shape has to carry the answer.
    /// </summary>
    Sequence,

    /// <summary>
    /// <see cref="Scanner"/>, plus matching an image's grey-level histogram (inside the head) to that of another image of the batch
    /// (<see cref="ScannerAugmentation.HistogramDescription"/>). Unlike random curves the mapping is monotonic, so tissue contrast
    /// keeps its order, but the histogram's shape, which tells the source and sequence (and so, in Training, the class), no
    /// longer does.
    /// </summary>
    Histogram,

    /// <summary>
    /// <see cref="Scanner"/>, plus a random intensity remapping by a shallow random convolutional network (GIN, Ouyang et al.
    /// 2022; <see cref="ScannerAugmentation.GinDescription"/>): new tissue contrasts and local textures each time, so that
    /// neither carries the label, while shape does.
    /// </summary>
    Gin,

    /// <summary>
    /// <see cref="Scanner"/>, plus RandConv (Xu et al. 2021; <see cref="ScannerAugmentation.RandConvDescription"/>): one random
    /// linear filter with a random kernel size, which changes local texture and may invert contrast, while shape stays.
    /// </summary>
    RandConv,
}

/// <summary>
/// Augmentation that imitates images from other scanners, sequences and sources, applied to a batch of
/// preprocessed images with values in [0, 1]: field of view (scale, aspect, shift), contrast curve (gamma,
/// contrast, brightness), resolution (down-then-up resampling), sharpness (blur or unsharp masking) and
/// noise. Every random draw comes from the epoch's seeded <see cref="Random"/>, so a resumed run repeats
/// an uninterrupted one.
/// </summary>
public static class ScannerAugmentation
{
    public const string Description =
        "random horizontal flip, rotation up to {0} degrees, scale 0.85-1.15, aspect 0.9-1.1, shift up to 6%; " +
        "gamma 0.67-1.5, contrast 0.8-1.2, brightness ±0.08; down-then-up resampling to 30-80% (p 0.4); " +
        "Gaussian blur sigma 0.3-1.2 px (p 0.25) or unsharp masking (p 0.15); Gaussian noise sigma 0.005-0.04 (p 0.3)";

    public const string SequenceDescription =
        "; a random grey-level curve (piecewise linear through 0 and four random levels in 0.1-1, so possibly non-monotonic) (p 0.5)";

    public const string HistogramDescription =
        "; grey levels inside the head matched to the histogram of another image of the batch (p 0.5)";

    public const string GinDescription =
        "; the head's grey levels, centred, remapped by a random 4-layer convolutional network " +
        "(kernels 1 or 3, 2 channels, leaky ReLU 0.2, " +
        "weights N(0, 1)), scaled to the input's norm, blended with it by a uniform weight and stretched to 0.05-1 over the head (p 0.5)";

    public const string RandConvDescription =
        "; the head's grey levels, centred, through one random convolution (kernel 1, 3, 5 or 7, weights N(0, 1)), " +
        "scaled to the input's norm, " +
        "blended with it by a uniform weight and stretched to 0.05-1 over the head (p 0.5)";

    public static string Describe(AugmentationMode mode, double maxDegrees) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, Description, maxDegrees) + mode switch
        {
            AugmentationMode.Sequence => SequenceDescription,
            AugmentationMode.Histogram => HistogramDescription,
            AugmentationMode.Gin => GinDescription,
            AugmentationMode.RandConv => RandConvDescription,
            _ => "",
        };

    /// <param name="masks">Head masks to move with the images (only the geometric changes apply to them), or null.</param>
    public static (Tensor Images, Tensor? Masks) Apply(Tensor images, Random random, double maxDegrees,
        AugmentationMode mode = AugmentationMode.Scanner, Tensor? masks = null)
    {
        long count = images.shape[0], height = images.shape[2], width = images.shape[3];
        var theta = new float[count * 6];
        for (int i = 0; i < count; i++)
        {
            double angle = (random.NextDouble() * 2 - 1) * maxDegrees * Math.PI / 180;
            float flip = random.NextDouble() < 0.5 ? -1f : 1f;
            // affine_grid maps output positions to input positions, so a zoom in by s samples 1/s of the input.
            double scale = 1 / Uniform(random, 0.85, 1.15);
            double aspect = Math.Sqrt(Uniform(random, 0.9, 1.1));
            float sx = (float)(scale * aspect), sy = (float)(scale / aspect);
            float cos = (float)Math.Cos(angle), sin = (float)Math.Sin(angle);
            theta[i * 6 + 0] = cos * flip * sx;
            theta[i * 6 + 1] = -sin * sy;
            theta[i * 6 + 2] = (float)Uniform(random, -0.12, 0.12);
            theta[i * 6 + 3] = sin * flip * sx;
            theta[i * 6 + 4] = cos * sy;
            theta[i * 6 + 5] = (float)Uniform(random, -0.12, 0.12);
        }
        using var affine = tensor(theta, [count, 2, 3]);
        using var grid = nn.functional.affine_grid(affine, images.shape, align_corners: false);
        using var moved = nn.functional.grid_sample(images, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros,
            align_corners: false);
        var movedMasks = Batches.MoveMasks(masks, grid);

        var results = new Tensor[count];
        var greys = mode == AugmentationMode.Histogram
            ? Enumerable.Range(0, (int)count).Select(i => moved[i].mean([0]).data<float>().ToArray()).ToArray()
            : null;
        for (int i = 0; i < count; i++)
        {
            var image = moved[i].unsqueeze(0);
            if (greys is not null && count > 1 && random.NextDouble() < 0.5)
            {
                int other = (i + 1 + random.Next((int)count - 1)) % (int)count;
                if (MatchingCurve(greys[i], greys[other]) is { } matching)
                {
                    image = Curve(image, matching);
                }
            }
            double gamma = Math.Exp(Uniform(random, Math.Log(1 / 1.5), Math.Log(1.5)));
            double contrast = Uniform(random, 0.8, 1.2), brightness = Uniform(random, -0.08, 0.08);
            // Scalars held explicitly: see HeldScalars.
            using (Scalar exponent = gamma.ToScalar(), factor = contrast.ToScalar(), offset = brightness.ToScalar())
            {
                image = (image.clamp(Zero, One).pow(exponent) * factor).add(offset, One).clamp(Zero, One);
            }
            if (mode == AugmentationMode.Sequence && random.NextDouble() < 0.5)
            {
                image = RandomCurve(image, random);
            }
            if (mode == AugmentationMode.Gin && random.NextDouble() < 0.5)
            {
                image = RandomNetwork(image, random);
            }
            if (mode == AugmentationMode.RandConv && random.NextDouble() < 0.5)
            {
                image = RandomFilter(image, random);
            }
            if (random.NextDouble() < 0.4)
            {
                double factor = Uniform(random, 0.3, 0.8);
                long[] small = [Math.Max(8, (long)(height * factor)), Math.Max(8, (long)(width * factor))];
                using var down = nn.functional.interpolate(image, small, mode: InterpolationMode.Area);
                image = nn.functional.interpolate(down, [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
            }
            double sharpness = random.NextDouble();
            if (sharpness < 0.25)
            {
                image = Blur(image, Uniform(random, 0.3, 1.2));
            }
            else if (sharpness < 0.40)
            {
                double amount = Uniform(random, 0.3, 1.0);
                using var blurred = Blur(image, 1.0);
                using Scalar sharpened = (1 + amount).ToScalar(), subtracted = amount.ToScalar();
                using var removed = blurred * subtracted;
                image = (image * sharpened - removed).clamp(Zero, One);
            }
            if (random.NextDouble() < 0.3)
            {
                using var generator = new Generator((ulong)random.NextInt64(long.MaxValue));
                using var noise = randn(image.shape, generator: generator);
                using var sigma = Uniform(random, 0.005, 0.04).ToScalar();
                using var scaledNoise = noise * sigma;
                image = image.Plus(scaledNoise).clamp(Zero, One);
            }
            results[i] = image;
        }
        return (cat(results, 0), movedMasks);
    }

    private static double Uniform(Random random, double low, double high) => low + random.NextDouble() * (high - low);

    /// <summary>A random piecewise linear curve with knots at 0, 1/4, ..., 1; black stays black.</summary>
    private static Tensor RandomCurve(Tensor image, Random random)
    {
        const int segments = 4;
        var levels = new float[segments + 1];
        for (int k = 1; k <= segments; k++)
        {
            levels[k] = (float)Uniform(random, 0.1, 1.0);
        }
        return Curve(image, levels);
    }

    // Below this grey level a pixel is background: the head pipeline maps the background's median to 0.
    private const float HeadLevel = 0.02f;
    private const int MatchingSegments = 32;

    /// <summary>
    /// Histogram matching as a curve: each knot level k/32 goes to the level of the target's head pixels at the quantile the
    /// knot has among the source's head pixels; black stays black. Null when either image has almost no head.
    /// </summary>
    public static float[]? MatchingCurve(float[] source, float[] target)
    {
        var sourceHead = source.Where(v => v > HeadLevel).Order().ToArray();
        var targetHead = target.Where(v => v > HeadLevel).Order().ToArray();
        if (sourceHead.Length < 100 || targetHead.Length < 100)
        {
            return null;
        }
        var levels = new float[MatchingSegments + 1];
        // The knots ascend, so one pass over the sorted source levels counts how many lie at or below each.
        int below = 0;
        for (int k = 1; k <= MatchingSegments; k++)
        {
            float knot = (float)k / MatchingSegments;
            while (below < sourceHead.Length && sourceHead[below] <= knot) below++;
            double quantile = (double)below / sourceHead.Length;
            levels[k] = targetHead[(int)Math.Round(quantile * (targetHead.Length - 1))];
        }
        return levels;
    }

    /// <summary>Maps grey levels through the piecewise linear curve through (k / (levels - 1), levels[k]).</summary>
    private static Tensor Curve(Tensor image, float[] levels)
    {
        int segments = levels.Length - 1;
        using var knots = tensor(levels);
        using Scalar scale = segments.ToScalar(), lastSegment = (segments - 1).ToScalar();
        using var position = image.clamp(Zero, One) * scale;
        using var segment = position.floor().clamp(Zero, lastSegment);
        using var index = segment.to_type(ScalarType.Int64);
        using var fraction = position - segment;
        using var start = knots[index];
        using var nextIndex = index.add(IntegerOne, IntegerOne);
        using var end = knots[nextIndex];
        using var rise = end - start;
        using var step = fraction * rise;
        return start.Plus(step);
    }

    private static readonly Scalar LeakySlope = 0.2.ToScalar(), Tiny = 1e-6.ToScalar(), Far = 1e6.ToScalar(), HeadFloor = 0.05.ToScalar(),
        HeadRange = 0.95.ToScalar(), HeadThreshold = ((double)HeadLevel).ToScalar();

    /// <summary>
    /// GIN: the head's grey levels, centred on their mean, through four convolutions with random N(0, 1) weights (1 to 2, 2 to
    /// 2, 2 to 2, 2 to 1 channels, kernels 1 or 3, no bias), leaky ReLU between them; scaled to the input's norm, blended with
    /// it by a uniform weight, and stretched to 0.05-1 over the head, so that tissue contrast may fold or reverse. The
    /// background stays black. Centring matters: on levels of one sign the network would be linear, a mere rescaling.
    /// </summary>
    public static Tensor RandomNetwork(Tensor image, Random random) => RandomNetwork(image, random, GinWidths, GinKernels);

    /// <summary>RandConv: the same remapping through a single random filter.</summary>
    public static Tensor RandomFilter(Tensor image, Random random) => RandomNetwork(image, random, RandConvWidths, RandConvKernels);

    private static readonly int[] GinWidths = [1, 2, 2, 2, 1], GinKernels = [1, 3], RandConvWidths = [1, 1], RandConvKernels = [1, 3, 5, 7];

    /// <summary>
    /// A random network of <paramref name="widths"/>.Length - 1 convolutions, each with a kernel drawn from
    /// <paramref name="kernels"/>: GIN's four layers, or RandConv's single filter.
    /// </summary>
    private static Tensor RandomNetwork(Tensor image, Random random, int[] widths, int[] kernels)
    {
        long channels = image.shape[1];
        using var grey = image.mean([1], keepdim: true);
        using var mask = grey.gt(HeadThreshold).to_type(ScalarType.Float32);
        using var headSum = (grey * mask).sum();
        using var headCount = mask.sum().add(Tiny, One);
        using var headMean = headSum / headCount;
        using var offset = grey - headMean;
        using var centred = offset * mask;
        var x = centred.alias();
        int layers = widths.Length - 1;
        for (int layer = 0; layer < layers; layer++)
        {
            int kernel = kernels[(int)(random.NextDouble() * kernels.Length)];
            var weights = new float[widths[layer + 1] * widths[layer] * kernel * kernel];
            for (int w = 0; w < weights.Length; w++)
            {
                weights[w] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
            }
            using var weight = tensor(weights, [widths[layer + 1], widths[layer], kernel, kernel]);
            using var previous = x;
            x = nn.functional.conv2d(previous, weight, padding: [kernel / 2, kernel / 2]);
            if (layer < layers - 1)
            {
                using var convolved = x;
                x = nn.functional.leaky_relu(convolved, LeakySlope.ToDouble());
            }
        }
        using var output = x;
        using var inputNorm = centred.norm();
        using var outputNorm = output.norm().add(Tiny, One);
        using var scale = inputNorm / outputNorm;
        using var scaled = output * scale;
        double weightOfNetwork = Uniform(random, 0, 1);
        using Scalar blend = weightOfNetwork.ToScalar(), keep = (1 - weightOfNetwork).ToScalar();
        using var remapped = scaled * blend;
        using var kept = centred * keep;
        using var mixed = remapped.Plus(kept);
        using var background = grey.le(HeadThreshold).to_type(ScalarType.Float32);
        using var outside = background * Far;
        using var low = mixed.Plus(outside).min();
        using var high = (mixed - outside).max();
        using var span = (high - low).add(Tiny, One);
        using var unit = (mixed - low) / span;
        using var lifted = (unit * HeadRange).add(HeadFloor, One);
        using var head = (lifted * mask).clamp(Zero, One);
        return head.expand(1, channels, image.shape[2], image.shape[3]).contiguous();
    }

    /// <summary>Separable Gaussian blur of a [1, C, H, W] image with reflected borders.</summary>
    private static Tensor Blur(Tensor image, double sigma)
    {
        int radius = Math.Max(1, (int)Math.Ceiling(2.5 * sigma));
        var weights = Enumerable.Range(-radius, 2 * radius + 1).Select(x => (float)Math.Exp(-x * x / (2 * sigma * sigma))).ToArray();
        float sum = weights.Sum();
        long channels = image.shape[1];
        using var kernel = tensor(weights.Select(w => w / sum).ToArray(), [1, 1, 1, weights.Length]);
        using var horizontal = kernel.expand(channels, 1, 1, weights.Length);
        using var vertical = horizontal.permute(0, 1, 3, 2);
        using var padded = nn.functional.pad(image, [radius, radius, radius, radius], TorchSharp.PaddingModes.Reflect);
        using var once = nn.functional.conv2d(padded, horizontal, groups: channels);
        return nn.functional.conv2d(once, vertical, groups: channels);
    }
}
