using BrainTumor.Training;
using static TorchSharp.torch;

namespace BrainTumor.Training.Tests;

public sealed class ScannerAugmentationTests
{
    [Fact]
    public void HistogramMatchingSendsAnImagesLevelsToTheOtherImagesLevelsAtTheSameQuantiles()
    {
        // A head with levels spread evenly over 0.1-0.5, matched to one spread over 0.4-0.9 (twice the contrast, brighter).
        float[] source = Head(i => 0.1f + 0.4f * i), target = Head(i => 0.4f + 0.5f * i);

        float[] curve = ScannerAugmentation.MatchingCurve(source, target)!;

        Assert.Equal(0, curve[0]);
        // The knot at 0.25 lies at the source's quantile (0.25 - 0.1) / 0.4 = 0.375; the target's level there is 0.4 + 0.5 x 0.375.
        Assert.InRange(curve[8], 0.5875 - 0.001, 0.5875 + 0.001);
        // Above the source's brightest level everything goes to the target's brightest.
        Assert.InRange(curve[32], 0.9 - 0.001, 0.9 + 0.001);
        Assert.True(curve.Zip(curve.Skip(1)).All(pair => pair.First <= pair.Second), "the curve is monotonic");
    }

    [Fact]
    public void AnImageMatchedToItselfKeepsItsLevels()
    {
        float[] image = Head(i => 0.05f + 0.9f * i * i);

        float[] curve = ScannerAugmentation.MatchingCurve(image, image)!;

        for (int k = 2; k <= 30; k++)
        {
            Assert.InRange(curve[k], k / 32.0 - 0.001, k / 32.0 + 0.001);
        }
    }

    [Fact]
    public void AnImageWithoutAHeadIsNotMatched() =>
        Assert.Null(ScannerAugmentation.MatchingCurve(new float[10_000], Head(i => 0.5f)));

    [Theory]
    [InlineData(AugmentationMode.Paper)]
    [InlineData(AugmentationMode.Scanner)]
    public void HeadMasksMoveWithTheirImages(AugmentationMode mode)
    {
        // Eight 64x64 images: a bright disc (the head) off centre on black, and its mask.
        const int size = 64, count = 8;
        var pixels = new float[count * 3 * size * size];
        var masks = new float[count * size * size];
        for (int i = 0; i < count; i++)
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            bool head = (x - 24 - i) * (x - 24 - i) + (y - 30) * (y - 30) < 18 * 18;
            masks[i * size * size + y * size + x] = head ? 1 : 0;
            for (int c = 0; c < 3; c++) pixels[((i * 3) + c) * size * size + y * size + x] = head ? 0.8f : 0;
        }
        using var images = tensor(pixels, [count, 3, size, size]);
        using var maskTensor = tensor(masks, [count, 1, size, size]);

        var (moved, movedMasks) = mode == AugmentationMode.Paper
            ? Batches.Augment(images, new Random(3), 10, maskTensor)
            : ScannerAugmentation.Apply(images, new Random(3), 10, mode, maskTensor);

        float[] grey = moved.mean([1]).data<float>().ToArray(), mask = movedMasks!.data<float>().ToArray();
        // Away from the disc's edge (within 4 px of it, resampling and blur mix the two), bright pixels are exactly the masked ones.
        bool Clear(int p)
        {
            int image = p / (size * size), x = p % size, y = p / size % size;
            var around = from dy in Enumerable.Range(-4, 9) from dx in Enumerable.Range(-4, 9)
                         let xx = Math.Clamp(x + dx, 0, size - 1) let yy = Math.Clamp(y + dy, 0, size - 1)
                         select mask[image * size * size + yy * size + xx];
            return around.All(v => v < 0.05f) || around.All(v => v > 0.95f);
        }
        var clear = Enumerable.Range(0, mask.Length).Where(Clear).ToList();
        Assert.True(clear.Count > 0.6 * mask.Length, $"{clear.Count} of {mask.Length}");
        Assert.All(clear, p => Assert.Equal(mask[p] > 0.5f, grey[p] > 0.3f));
    }

    /// <summary>
    /// GIN's random network, and RandConv's single random filter, keep the black background black, span 0.05-1 over the head,
    /// and remap grey levels differently from draw to draw: over 20 draws, some keep the input's order of levels and some reverse it.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RandomNetworkRemappingKeepsTheBackgroundBlackAndChangesTheContrast(bool randConv)
    {
        const int size = 48;
        var pixels = new float[3 * size * size];
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            bool head = (x - 24) * (x - 24) + (y - 24) * (y - 24) < 14 * 14;
            for (int c = 0; c < 3; c++) pixels[c * size * size + y * size + x] = head ? 0.2f + 0.6f * x / size : 0;
        }
        using var image = tensor(pixels, [1, 3, size, size]);
        var correlations = new List<double>();
        var random = new Random(7);
        for (int draw = 0; draw < 20; draw++)
        {
            using var remapped = randConv
                ? ScannerAugmentation.RandomFilter(image, random)
                : ScannerAugmentation.RandomNetwork(image, random);
            float[] output = remapped.data<float>().ToArray();

            Assert.Equal(pixels.Length, output.Length);
            Assert.InRange(output.Max(), 0.999f, 1.0f);
            for (int p = 0; p < size * size; p++)
            {
                Assert.InRange(output[p], pixels[p] > 0 ? 0.0499f : 0f, pixels[p] > 0 ? 1f : 0f);
            }
            var inside = Enumerable.Range(0, size * size)
                .Where(p => (p % size - 24) * (p % size - 24) + (p / size - 24) * (p / size - 24) < 10 * 10).ToList();
            correlations.Add(Correlation(inside.Select(p => (double)pixels[p]).ToArray(), inside.Select(p => (double)output[p]).ToArray()));
        }
        Assert.Contains(correlations, r => r > 0.5);
        Assert.Contains(correlations, r => r < -0.5);
    }

    private static double Correlation(double[] a, double[] b)
    {
        double ma = a.Average(), mb = b.Average();
        double cov = a.Zip(b).Sum(p => (p.First - ma) * (p.Second - mb));
        return cov / Math.Sqrt(a.Sum(v => (v - ma) * (v - ma)) * b.Sum(v => (v - mb) * (v - mb)) + 1e-12);
    }

    /// <summary>10,000 pixels: a quarter black background, the rest head levels from <paramref name="level"/> over 0-1.</summary>
    private static float[] Head(Func<float, float> level) =>
        Enumerable.Range(0, 10_000).Select(p => p < 2_500 ? 0f : level((p - 2_500) / 7_499f)).ToArray();
}
