using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Json.Serialization;
using BrainTumor.Imaging;

namespace BrainTumor.Models;

/// <summary>
/// <c>model.json</c>: everything a server or an evaluator needs to use <c>model.onnx</c> correctly, and
/// where the model came from and how well it measured.
/// </summary>
public sealed record ModelManifest
{
    public const string FileName = "model.json";
    public const string OnnxFileName = "model.onnx";

    public required string Name { get; init; }
    public required string Version { get; init; }
    public required string Architecture { get; init; }
    public string? Description { get; init; }
    public required IReadOnlyList<string> Labels { get; init; }
    public required ModelInput Input { get; init; }
    public required ModelOutputs Outputs { get; init; }
    public required GradCamInfo GradCam { get; init; }
    public long Parameters { get; init; }
    public TrainingProvenance? Training { get; init; }

    /// <summary>An ensemble's packages (<see cref="EnsembleMember"/>); absent for a single network, which has <see cref="Training"/>
    /// instead.</summary>
    public IReadOnlyList<EnsembleMember>? Members { get; init; }

    /// <summary>
    /// The training data and hold-out split the weights were fitted on: the package's own, or for an ensemble its first member's
    /// (all members share them; <c>braintumor ensemble</c> checks). Null for an imported package. Derived, never stored.
    /// </summary>
    [JsonIgnore]
    public TrainingProvenance? TrainedOn => Training ?? (Members is [var first, ..] ? first.Training : null);

    /// <summary>The augmentation the weights were trained with; an ensemble's members' joined. Derived, never stored.</summary>
    [JsonIgnore]
    public string? TrainingAugmentation => Training?.Augmentation ?? (Members is { } members
        ? EnsembleMember.Recipe(members.Select(m => (m.Architecture, m.Training.Augmentation)))
        : null);

    public ProbabilityCalibration? Calibration { get; init; }
    public ValidationMetrics? Metrics { get; init; }

    /// <summary>Scores on images from other sources than the training data; shown beside <see cref="Metrics"/> so that neither is read
    /// alone.</summary>
    public ExternalValidation? External { get; init; }

    /// <summary>The k-fold cross-validation of the recipe that trained this package (other weights, the same recipe).</summary>
    public CrossValidationSummary? CrossValidation { get; init; }

    /// <summary>The sensitive operating point (<c>?operatingPoint=sensitive</c>), fitted on the cross-validation's held-out
    /// folds.</summary>
    public NoTumorOperatingPoint? SensitiveOperatingPoint { get; init; }

    /// <summary>Sanity checks of the maps (<c>braintumor evaluate --gradcam-checks</c>), one per map method, with their thresholds and
    /// verdict.</summary>
    public IReadOnlyList<GradCamChecks>? GradCamChecks { get; init; }

    /// <summary>
    /// The pointing game on hand-boxed lesions of held-out Training slices (<c>braintumor evaluate --split validation --lesion-boxes</c>),
    /// one per map method: how often the true class's map peaks on the lesion.
    /// </summary>
    public IReadOnlyList<LesionPointingResult>? PointingGame { get; init; }

    /// <summary>
    /// The map method <c>/gradcam</c> uses when none is asked for: of the methods in <see cref="GradCamChecks"/>, the one that failed the
    /// fewest checks; among those, the one whose maps peak on the lesion most often (<see cref="PointingGame"/>); Grad-CAM on a tie (it
    /// is computed inside the graph) and when nothing was checked. The pointing game alone never chooses: Grad-CAM++ pointed best on
    /// several packages but failed the randomisation check on every one checked, so a map must first be shown to follow the model.
    /// Derived: written out for readers of model.json and GET /models, never read back.
    /// </summary>
    public string DefaultCamMethod =>
        GradCamChecks is { Count: > 0 } checks
            ? checks.GroupBy(c => c.Method)
                .OrderBy(g => g.Sum(c => c.Failures.Count))
                .ThenByDescending(g => PointingGame?.FirstOrDefault(p => p.Method == g.Key)?.HitRate ?? -1)
                .ThenBy(g => g.Key != GradCamMethod).First().Key
            : GradCamMethod;

    private const string GradCamMethod = "gradcam";

    /// <summary>The out-of-distribution guard: how unlike the training images an input may be before it is flagged.</summary>
    public OutOfDistributionGuard? OutOfDistribution { get; init; }

    /// <summary>The shift benchmark (<c>braintumor shift --record</c>): accuracy on the hold-out under fixed synthetic
    /// corruptions.</summary>
    public ShiftSummary? Shift { get; init; }

    /// <summary>For an 8-bit package (<c>braintumor quantize</c>): the float package it came from and how closely it agrees with
    /// it.</summary>
    public QuantizationInfo? Quantization { get; init; }

    /// <summary>A data folder as manifests record it: relative to the working directory (the repository), not this machine's
    /// root.</summary>
    public static string RecordedPath(string folder) => Path.GetRelativePath(Environment.CurrentDirectory, folder).Replace('\\', '/');

    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static ModelManifest Read(string path) =>
        JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), JsonOptions)
        ?? throw new InvalidDataException($"{path} is empty.");

    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions) + "\n");
}

/// <param name="Layout">Always NCHW for models written by this project.</param>
/// <param name="Resize">How an image of another size is brought to Height x Width, in words.</param>
/// <param name="Preprocessing">The steps that turn a decoded image into input pixels; absent in packages written before
/// they existed, which are fed as they always were (<see cref="Preprocessing.Stretch"/>).</param>
public sealed record ModelInput(
    string Name, string Layout, int Channels, int Height, int Width, string ColorSpace, string Resize, Normalization Normalization,
    Preprocessing? Preprocessing = null)
{
    public Preprocessing Steps => Preprocessing ?? BrainTumor.Imaging.Preprocessing.Stretch;
}

/// <param name="Features">The Grad-CAM layer's spatially averaged activation, [N, C], which the out-of-distribution score reads;
/// absent in packages written before it existed (<c>braintumor upgrade</c> adds it).</param>
/// <param name="CamGradient">The gradient of the explained logit at the Grad-CAM layer, [N, C, H, W], for maps other than Grad-CAM.</param>
/// <param name="CamActivation">The Grad-CAM layer's activation, [N, C, H, W], beside it.</param>
public sealed record ModelOutputs(
    string Logits, string Probabilities, string? Cam, string? CamClass, string? TargetClass, string? Features = null,
    string? CamGradient = null, string? CamActivation = null);

/// <param name="Layer">The layer whose output Grad-CAM explains.</param>
public sealed record GradCamInfo(string Layer, int Channels, int Height, int Width);

public sealed record DataSplit(string Method, double ValidationFraction, int TrainImages, int ValidationImages, int UniqueImages, int Seed);

public sealed record TrainingProvenance(
    string Dataset,
    string? DatasetManifestSha256,
    string DatasetContentSha256,
    DateTimeOffset TrainingStartedAt,
    DateTimeOffset ExportedAt,
    int Seed,
    int EpochsRun,
    int BestEpoch,
    int MaxEpochs,
    int BatchSize,
    double LearningRate,
    string Optimizer,
    string Augmentation,
    string StoppedBy,
    double TrainingSeconds,
    DataSplit Split,
    string Machine,
    string? InitialWeights = null)
{
    /// <summary>Ends the list of lesion-box files in <see cref="Optimizer"/>.</summary>
    public const string LesionBoxesNote = "training images with a box only";

    /// <summary>
    /// <see cref="Optimizer"/> without the lesion-box files' names: a cv run passes every box file, as each fold holds out other
    /// images, and a single run may pass only its training part's; boxes of held-out images are never used either way.
    /// </summary>
    public static string Recipe(string optimizer) =>
        Regex.Replace(optimizer, $@" \([^()]*; {LesionBoxesNote}\)", $" ({LesionBoxesNote})");
}

/// <summary>One package of an ensemble, as it was when joined: its provenance, calibration and hold-out metrics.</summary>
public sealed record EnsembleMember(
    string Name, string Version, string Architecture, TrainingProvenance Training, ProbabilityCalibration? Calibration,
    ValidationMetrics? Metrics, ExternalValidation? External)
{
    /// <summary>
    /// The members' architectures and augmentations as one string, an ensemble's "augmentation": its manifest and its
    /// cross-validation report record the same, so that <c>record-cv</c> can match them.
    /// </summary>
    public static string Recipe(IEnumerable<(string Architecture, string Augmentation)> members) =>
        string.Join(" | ", members.Select((member, index) => $"member {index + 1}: {member.Architecture}, {member.Augmentation}"));
}

/// <summary>
/// Temperature scaling built into <c>model.onnx</c>: probabilities are softmax(logits / Temperature). The
/// expected calibration error (15 bins) and log-loss before and after were measured where it was fitted.
/// </summary>
public sealed record ProbabilityCalibration(
    double Temperature, string FittedOn, double EceBefore, double EceAfter, double LogLossBefore, double LogLossAfter);

public sealed record ClassScores(string Label, double Precision, double Recall, double F1, int Support);

/// <summary>Metrics measured on the held-out validation images with the exported weights.</summary>
public sealed record ValidationMetrics(
    int Images, double Accuracy, double MacroF1, double Loss, IReadOnlyList<ClassScores> PerClass, int[][] ConfusionMatrix,
    string MeasuredWith);

/// <summary>
/// External validation: the model scored on a labelled set from other sources (scanners, sequences, sites) than
/// the data it was trained on, with ONNX Runtime on <c>model.onnx</c>. Nothing was fitted on these images.
/// </summary>
/// <param name="TumourSensitivity">Share of tumour images (any label but <c>no_tumor</c>) not called <c>no_tumor</c>.</param>
/// <param name="TumoursMissed">Tumour images called <c>no_tumor</c>.</param>
public sealed record ExternalValidation(
    string Data, string DataContentSha256, int Images, double Accuracy, double MacroF1, double? TumourSensitivity, int? TumoursMissed,
    IReadOnlyList<ClassScores> PerClass, int[][] ConfusionMatrix, DateTimeOffset MeasuredAt, string MeasuredWith);

/// <summary>
/// Cross-validation of the package's training recipe: k models trained the same way on k splits of the training data,
/// each scored on its held-out fold. It measures the recipe, not these exact weights.
/// </summary>
/// <param name="Report">The cv run's report folder, relative to the repository.</param>
/// <param name="Folds">Folds planned; <paramref name="FoldsDone"/> of them finished when this was recorded.</param>
public sealed record CrossValidationSummary(
    string Report, int Folds, int FoldsDone, double Accuracy, double AccuracyStd, double MacroF1, double? TumourSensitivity,
    DateTimeOffset RecordedAt);

/// <summary>Tumour sensitivity, <c>no_tumor</c> recall and accuracy at one operating point.</summary>
public sealed record OperatingPointScores(double TumourSensitivity, double NoTumorRecall, double Accuracy);

/// <summary>
/// An operating point that answers "tumour" unless <c>no_tumor</c> is at least <paramref name="NoTumorMinimum"/> likely
/// (<see cref="ClassProbabilities.Decide"/>): the smallest minimum whose tumour sensitivity reaches
/// <paramref name="TargetSensitivity"/> on the cross-validation's held-out, temperature-calibrated probabilities.
/// </summary>
public sealed record NoTumorOperatingPoint(
    double NoTumorMinimum, double TargetSensitivity, string FittedOn, OperatingPointScores AtArgmax, OperatingPointScores AtMinimum);

/// <summary>
/// Flags inputs whose penultimate features (<see cref="ModelOutputs.Features"/>) lie far from the training images':
/// <see cref="FeatureDistribution"/>'s score above <paramref name="Threshold"/> is "not like anything this model was trained on".
/// </summary>
/// <param name="Method">How the score is computed (<c>mahalanobis</c>: <see cref="FeatureDistribution"/>).</param>
/// <param name="StatisticsFile">The fitted statistics, a file beside <c>model.json</c>.</param>
/// <param name="Threshold">The score of the held-out image at <paramref name="TargetAcceptance"/>; higher scores are flagged.</param>
/// <param name="TargetAcceptance">Share of held-out in-distribution images accepted at <paramref name="Threshold"/>.</param>
/// <param name="Shrinkage">Weight of the identity in the shared covariance.</param>
/// <param name="FittedOn">The images the class means and covariance came from.</param>
/// <param name="ThresholdSetOn">The images the threshold came from, never the ones above.</param>
/// <param name="Evaluation">What the guard did on material it was not fitted on, when measured.</param>
public sealed record OutOfDistributionGuard(
    string Method, string StatisticsFile, double Threshold, double TargetAcceptance, double Shrinkage, string FittedOn,
    string ThresholdSetOn, OutOfDistributionEvaluation? Evaluation = null);

/// <param name="Report">The report folder, relative to the repository.</param>
/// <param name="ExternalAcceptance">Share of the external labelled images (for the shipped models, Testing-dev) accepted.</param>
/// <param name="Groups">For each out-of-distribution group: images, AUROC against the in-distribution images, and the share
/// flagged.</param>
public sealed record OutOfDistributionEvaluation(
    string Report, double ExternalAcceptance, IReadOnlyList<OutOfDistributionGroupScore> Groups, DateTimeOffset MeasuredAt);

public sealed record OutOfDistributionGroupScore(string Group, int Images, double Auroc, double Flagged);

/// <summary>
/// Whether the Grad-CAM maps depend on what they should (Adebayo et al., "Sanity checks for saliency maps", 2018) and lie on
/// the head: measured on <paramref name="Images"/> images of <paramref name="Data"/>, each value a mean over them.
/// </summary>
/// <param name="Randomisation">Cascading model-parameter randomisation: Spearman correlation between each image's map and its map after the
/// top <c>LayersRandomised</c> parameterised layers were re-initialised, from the output down.</param>
/// <param name="ClassSensitivity">Mean Spearman correlation between the map of the predicted class and the map of each other class.</param>
/// <param name="OutsideHead">Mean share of the map (min-max normalised and upsampled as drawn) on pixels outside the head mask.</param>
/// <param name="Stability">Mean Spearman correlation between a map and the map of the same image made 15 grey levels brighter and 15%
/// more contrasted, over the <paramref name="StableImages"/> images whose label that did not change.</param>
/// <param name="Faithfulness">Insertion and deletion curves against the shuffled-map control (absent from checks recorded before they
/// existed).</param>
/// <param name="Passed">Every threshold met.</param>
/// <param name="Method">The map method checked (<c>gradcam</c>, <c>hirescam</c>, <c>gradcampp</c>).</param>
public sealed record GradCamChecks(
    string Method, string Data, int Images, IReadOnlyList<RandomisationStep> Randomisation,
    double ClassSensitivity, double OutsideHead, double Stability, int StableImages, GradCamCheckThresholds Thresholds,
    bool Passed, IReadOnlyList<string> Failures, DateTimeOffset MeasuredAt, string MeasuredWith,
    MapFaithfulness? Faithfulness = null);

/// <summary>
/// The pointing game of one map method (Zhang et al. 2018) on slices with a hand-drawn lesion box: a hit when the true class's map,
/// upsampled as drawn, peaks inside the box widened by <paramref name="Margin"/> of the image on each side.
/// </summary>
/// <param name="Boxes">The boxes' file, relative to the repository.</param>
/// <param name="Data">The evaluated images (the held-out split of the training data).</param>
/// <param name="HitRate">Hits over images, with its 95% Wilson interval <paramref name="Low"/>-<paramref name="High"/>.</param>
/// <param name="MassInside">Mean share of the min-max normalised map's sum that lies inside the box.</param>
public sealed record LesionPointingResult(
    string Method, string Boxes, string Data, int Images, int Hits, double HitRate, double Low, double High,
    double MassInside, double Margin, DateTimeOffset MeasuredAt);

/// <summary>
/// Insertion and deletion curves in the style of RISE (Petsiuk et al. 2018), with a removed pixel replaced by a heavily
/// blurred copy of the image rather than by black: a black hole inside the head is itself unlike any MRI slice, so its
/// effect would not tell whether the map found what the model uses. Each value is the area under the curve of the predicted
/// class's probability as 0%, 10%, ... 100% of the pixels are inserted (into the blurred copy) or deleted (from the
/// image), most salient first, averaged over the images; the control orders pixels by the same map with its cells shuffled.
/// A faithful map makes insertion rise sooner and deletion fall sooner than the control.
/// </summary>
public sealed record MapFaithfulness(
    double InsertionArea, double InsertionAreaShuffled, double DeletionArea, double DeletionAreaShuffled, double BlurSigma)
{
    public double InsertionGain => Math.Round(InsertionArea - InsertionAreaShuffled, 4);
    public double DeletionGain => Math.Round(DeletionAreaShuffled - DeletionArea, 4);
}

public sealed record RandomisationStep(int LayersRandomised, string Layer, double MeanRankCorrelation);

/// <param name="RandomisedClassifier">Largest mean correlation once the top layer (the classifier) is randomised.</param>
/// <param name="RandomisedTwoLayersDown">Largest mean correlation once two more layers are randomised.</param>
/// <param name="ClassSensitivity">Largest mean correlation between classes' maps.</param>
/// <param name="OutsideHead">Largest mean share of the map outside the head.</param>
/// <param name="FaithfulnessGain">Smallest margin by which the map's insertion area must exceed the control's, and its deletion area fall
/// below it. 0.05 is "clearly better": 5 points of probability averaged over the whole curve.</param>
public sealed record GradCamCheckThresholds(
    double RandomisedClassifier, double RandomisedTwoLayersDown, double ClassSensitivity, double OutsideHead,
    double FaithfulnessGain = 0)
{
    /// <summary>The targets of issue 19.</summary>
    public static GradCamCheckThresholds Default { get; } = new(0.3, 0.1, 0.2, 0.1, 0.05);
}

/// <summary>
/// The shift benchmark's result for one package: its hold-out images changed by fixed, seeded corruptions (brightness,
/// contrast, gamma, blur, noise, JPEG, resolution) before its own preprocessing.
/// </summary>
/// <param name="Report">The benchmark's report folder, relative to the repository.</param>
/// <param name="Clean">Accuracy on the unchanged images.</param>
/// <param name="MeanAccuracy">Mean accuracy over the corruptions (the unchanged images not counted).</param>
/// <param name="Worst">The corruption and severity with the lowest accuracy, and that accuracy.</param>
public sealed record ShiftSummary(
    string Report, int Images, double Clean, double MeanAccuracy, string Worst, double WorstAccuracy, DateTimeOffset MeasuredAt);

/// <summary>
/// How an 8-bit package was made from a float one (<c>braintumor quantize</c>): the same weights, rounded, in ONNX's QDQ form.
/// </summary>
/// <param name="From">The float package's name; <paramref name="FromOnnxSha256"/> is its model.onnx.</param>
/// <param name="Calibration">How the activations' ranges were chosen, on <paramref name="CalibrationImages"/> images of the training
/// split.</param>
public sealed record QuantizationInfo(
    string From, string FromVersion, string FromOnnxSha256, string Weights, string Activations, string Calibration, int CalibrationImages,
    QuantizationAgreement Agreement);

/// <summary>The 8-bit and the float package side by side on the float package's held-out validation split.</summary>
/// <param name="ChangedPredictions">Images whose most probable class differs.</param>
/// <param name="CamCorrelation">Mean Pearson correlation of the two maps of the float model's predicted class, made with
/// <paramref name="CamMethod"/>.</param>
/// <param name="GuardVerdictsChanged">Images the out-of-distribution guard (the float model's statistics, copied) judges otherwise; null
/// without a guard.</param>
public sealed record QuantizationAgreement(
    int Images, double FloatAccuracy, double QuantizedAccuracy, double? FloatTumourSensitivity, double? QuantizedTumourSensitivity,
    int ChangedPredictions, double MaxProbabilityDifference, string CamMethod, double CamCorrelation, double LowestCamCorrelation,
    int? GuardVerdictsChanged, DateTimeOffset MeasuredAt);
