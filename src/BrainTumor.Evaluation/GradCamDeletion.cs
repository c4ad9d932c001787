namespace BrainTumor.Evaluation;

/// <summary>
/// Result of the Grad-CAM deletion check: how much the model's confidence in its own answer falls when the
/// part of the image Grad-CAM points at is blanked, against blanking an equally large area laid out at random.
/// </summary>
/// <param name="Images">Images checked (those whose map was not flat).</param>
/// <param name="FlatMaps">Images left out because their Grad-CAM map was zero everywhere.</param>
/// <param name="Fraction">Share of the input's pixels blanked in each arm.</param>
/// <param name="MeanConfidence">Mean probability of the predicted class on the intact images.</param>
/// <param name="MeanDropGradCam">Mean fall of that probability when the Grad-CAM area is blanked.</param>
/// <param name="MeanDropRandom">Mean fall when the randomly laid out area is blanked.</param>
/// <param name="ChangedGradCam">Share of images whose predicted class changes when the Grad-CAM area is blanked.</param>
/// <param name="ChangedRandom">Share of images whose predicted class changes in the random arm.</param>
/// <param name="GradCamLarger">Share of images whose confidence falls more in the Grad-CAM arm than in the random arm.</param>
public sealed record GradCamDeletion(
    int Images, int FlatMaps, double Fraction, double MeanConfidence, double MeanDropGradCam, double MeanDropRandom,
    double ChangedGradCam, double ChangedRandom, double GradCamLarger);
