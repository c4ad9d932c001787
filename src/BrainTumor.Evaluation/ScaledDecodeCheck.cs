using System.Diagnostics;
using System.Globalization;
using BrainTumor.Imaging;
using BrainTumor.Imaging.Rendering;
using BrainTumor.Inference;
using BrainTumor.Models;
using SkiaSharp;

namespace BrainTumor.Evaluation;

/// <summary>
/// Compares a model's answers on its held-out images decoded at full size and at the reduced JPEG scale the server uses
/// (<see cref="ImageLoader.Decode"/> with the model's input size), image by image, and times the two decodes.
/// </summary>
public static class ScaledDecodeCheck
{
    // Rounds of the decode benchmark; each decodes one 512x512 held-out JPEG 50 times each way.
    private const int TimingRounds = 5;

    /// <summary>The comparison in one paragraph, then the timing in another.</summary>
    /// <param name="model">A model with a Grad-CAM graph, whose maps are compared.</param>
    /// <param name="heldOut">The model's held-out image files.</param>
    public static IReadOnlyList<string> Run(ClassifierModel model, IReadOnlyList<string> heldOut, ProgressStart progress)
    {
        var manifest = model.Manifest;
        var limits = ImageLimits.Classification;

        var done = progress(heldOut.Count, "full and scaled decoding");
        int changed = 0, scaledImages = 0, upsampledCrops = 0;
        double maxDelta = 0, correlationSum = 0, minCorrelation = 1, cropShareSum = 0;
        var scales = new SortedDictionary<int, int>();
        byte[]? timed = null;
        foreach (string file in heldOut)
        {
            byte[] bytes = File.ReadAllBytes(file);
            using var full = ImageLoader.Decode(bytes, limits);
            using var scaled = ImageLoader.Decode(bytes, limits, model.InputSize);
            // libjpeg rounds a reduced side up, so 501 pixels at 1/2 are 251.
            int reduction = (int)Math.Round((double)full.Width / scaled.Width);
            scales[reduction] = scales.GetValueOrDefault(reduction) + 1;
            scaledImages += reduction > 1 ? 1 : 0;
            if (timed is null && full.Width == 512 && full.Height == 512 && reduction > 1)
            {
                timed = bytes;
            }

            var fullInput = model.Prepare(full);
            var scaledInput = model.Prepare(scaled);
            var fullAnswer = model.Predict(fullInput.Pixels, withGradCam: true);
            // Both maps explain the class the full decode predicts, so a changed prediction does not change the question.
            var scaledAnswer = model.Predict(scaledInput.Pixels, withGradCam: true, fullAnswer.ClassIndex);
            changed += fullAnswer.ClassIndex == ClassProbabilities.ArgMax(scaledAnswer.Probabilities) ? 0 : 1;
            for (int c = 0; c < fullAnswer.Probabilities.Length; c++)
            {
                maxDelta = Math.Max(maxDelta, Math.Abs(fullAnswer.Probabilities[c] - scaledAnswer.Probabilities[c]));
            }
            // The maps are compared as /gradcam draws them: over the upload at its own size.
            var scaledRegion = scaledInput.Region.Scaled((float)full.Width / scaled.Width, (float)full.Height / scaled.Height);
            var fullMap = Upsampled(fullAnswer.GradCam!, full, fullInput.Region);
            var scaledMap = Upsampled(scaledAnswer.GradCam!, full, scaledRegion);
            double correlation = RankCorrelation.Pearson(fullMap, scaledMap);
            correlationSum += correlation;
            minCorrelation = Math.Min(minCorrelation, correlation);
            cropShareSum += Math.Min(1, scaledInput.Region.Width / Math.Max(scaled.Width, scaled.Height));
            upsampledCrops += reduction > 1 && scaledInput.Region.Width < manifest.Input.Width ? 1 : 0;
            done(scales.Values.Sum());
        }

        int n = heldOut.Count;
        string comparison = string.Create(CultureInfo.InvariantCulture,
            $"{manifest.Name} ({manifest.Input.Width}x{manifest.Input.Height}) on its {n} held-out images: {scaledImages} decoded " +
            $"smaller ({string.Join(", ", scales.Select(s => $"1/{s.Key}: {s.Value}"))}); the crop's mean share of the decoded " +
            $"image's longer side {cropShareSum / n:0.000}, {upsampledCrops} of the smaller decodes' crops smaller than the input; " +
            $"predictions changed {changed}; max |delta probability| {maxDelta:0.0000}; Grad-CAM maps' Pearson correlation mean " +
            $"{correlationSum / n:0.0000}, lowest {minCorrelation:0.0000}.");
        return
        [
            comparison,
            timed is null
                ? "No 512x512 held-out JPEG is decoded smaller for this model; nothing to time."
                : Timing(timed, model, limits, TimingRounds),
        ];
    }

    private static float[] Upsampled(GradCamMap cam, SKBitmap picture, InputRegion region) =>
        GradCamRenderer.NormaliseAndUpsample(cam.Values, cam.Width, cam.Height, picture.Width, picture.Height, region);

    /// <summary>
    /// Milliseconds per decode of one image, full and scaled in alternating rounds so that another process's load falls on both;
    /// the medians of the rounds, and the same with the package's preprocessing after the decode.
    /// </summary>
    private static string Timing(byte[] jpeg, ClassifierModel model, ImageLimits limits, int rounds)
    {
        const int perRound = 50;
        SKSizeI? scaled = model.InputSize;
        double Time(SKSizeI? atLeast, bool prepare)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < perRound; i++)
            {
                using var bitmap = ImageLoader.Decode(jpeg, limits, atLeast);
                if (prepare)
                {
                    model.Prepare(bitmap);
                }
            }
            return clock.Elapsed.TotalMilliseconds / perRound;
        }
        Time(null, prepare: true);
        Time(scaled, prepare: true);
        var results = new List<double>[4];
        for (int k = 0; k < results.Length; k++)
        {
            results[k] = [];
        }
        for (int round = 0; round < rounds; round++)
        {
            results[0].Add(Time(null, prepare: false));
            results[1].Add(Time(scaled, prepare: false));
            results[2].Add(Time(null, prepare: true));
            results[3].Add(Time(scaled, prepare: true));
        }
        double[] median = results.Select(r => r.Order().ElementAt(r.Count / 2)).ToArray();
        return string.Create(CultureInfo.InvariantCulture,
            $"Decoding one 512x512 held-out JPEG ({jpeg.Length / 1024.0:0} KB), median of {rounds} rounds of {perRound}: " +
            $"full {median[0]:0.000} ms, scaled {median[1]:0.000} ms (x{median[0] / median[1]:0.0} faster); with the package's " +
            $"preprocessing: full {median[2]:0.000} ms, scaled {median[3]:0.000} ms (x{median[2] / median[3]:0.0}). " +
            $"Machine: {Machine.Description}; CPU flags: {SimdFlags()}.");
    }

    private static string SimdFlags()
    {
        const string cpuInfo = "/proc/cpuinfo";
        var flags = File.Exists(cpuInfo)
            ? File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(':', 2)[1]
                .Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet() ?? []
            : [];
        string[] vector = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"];
        return string.Join(" ", vector.Where(flags.Contains)) is { Length: > 0 } present ? present : "none of the vector extensions";
    }
}
