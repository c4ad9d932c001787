using BrainTumor.Imaging;
using BrainTumor.Inference;

namespace BrainTumor.Evaluation;

/// <summary>
/// A deletion test of Grad-CAM faithfulness: blanking (to black, the MRI background) the pixels where the
/// upsampled map is highest should lower the confidence in the predicted class more than blanking as many
/// pixels chosen by the same map with its cells shuffled, which keeps the map's resolution and values but
/// not their places. It measures whether the maps show what the model relies on, not whether they outline
/// the lesion: that would need lesion masks, which the dataset does not have.
/// </summary>
public static class GradCamDeletionCheck
{
    public static GradCamDeletion Run(ClassifierModel model, IReadOnlyList<RgbImage> images, double fraction, int seed,
        ProgressStart progress)
    {
        var done = progress(images.Count, "Grad-CAM deletion check");
        var random = new Random(seed);
        int checkedImages = 0, flat = 0, changedByCam = 0, changedByRandom = 0, camLarger = 0;
        double confidence = 0, dropByCam = 0, dropByRandom = 0;
        foreach (var image in images)
        {
            var original = model.Predict(image, withGradCam: true);
            var map = original.GradCam!;
            done(checkedImages + flat + 1);
            if (map.Values.All(v => v == map.Values[0]))
            {
                flat++;
                continue;
            }
            var byCam = model.Predict(Blank(image, map.Values, map.Width, map.Height, fraction), withGradCam: false);
            var shuffled = GradCamSanityChecks.Shuffled(map.Values, random);
            var byRandom = model.Predict(Blank(image, shuffled, map.Width, map.Height, fraction), withGradCam: false);
            double camDrop = original.Confidence - byCam.Probabilities[original.ClassIndex];
            double randomDrop = original.Confidence - byRandom.Probabilities[original.ClassIndex];
            checkedImages++;
            confidence += original.Confidence;
            dropByCam += camDrop;
            dropByRandom += randomDrop;
            changedByCam += byCam.ClassIndex != original.ClassIndex ? 1 : 0;
            changedByRandom += byRandom.ClassIndex != original.ClassIndex ? 1 : 0;
            camLarger += camDrop > randomDrop ? 1 : 0;
        }
        if (checkedImages == 0)
        {
            throw new EvaluationException("The Grad-CAM deletion check had no image with a non-flat map.");
        }
        double n = checkedImages;
        return new GradCamDeletion(checkedImages, flat, fraction, confidence / n, dropByCam / n, dropByRandom / n,
            changedByCam / n, changedByRandom / n, camLarger / n);
    }

    /// <summary>
    /// Blacks out the <paramref name="fraction"/> of pixels where the map, min-max normalised and upsampled
    /// to the image as the server draws it, is highest (ties broken by position, so the result is repeatable).
    /// </summary>
    public static RgbImage Blank(RgbImage image, float[] map, int mapWidth, int mapHeight, double fraction)
    {
        var black = new RgbImage(image.Width, image.Height, new byte[image.Planes.Length]);
        var order = GradCamSanityChecks.SaliencyOrder(image, map, mapWidth, mapHeight);
        return GradCamSanityChecks.Replaced(image, black, order, (int)Math.Round(fraction * image.PixelCount));
    }
}
