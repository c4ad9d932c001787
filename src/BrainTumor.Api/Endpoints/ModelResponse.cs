using BrainTumor.Models;

namespace BrainTumor.Api.Endpoints;

/// <summary>
/// A served model as <c>GET /models</c> and <c>GET /models/{model}</c> answer: what its <c>model.json</c> records, field for field
/// and in its order.
/// </summary>
/// <remarks>
/// A type of the API's own, so that a change to the package format cannot change the answer unseen (openapi.json would show it);
/// its parts are the manifest's records, shown as recorded. Every property is required so that the compiler checks that
/// <see cref="From"/> sets each one; each is always written, null when the package lacks it.
/// </remarks>
public sealed record ModelResponse
{
    /// <summary>The model's name, as <c>?model=</c> takes it.</summary>
    public required string Name { get; init; }

    public required string Version { get; init; }

    public required string Architecture { get; init; }

    public required string? Description { get; init; }

    /// <summary>The classes, in the order of the network's outputs.</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>The input tensor and the steps that turn a decoded image into it.</summary>
    public required ModelInput Input { get; init; }

    public required ModelOutputs Outputs { get; init; }

    /// <summary>The layer whose activation Grad-CAM explains.</summary>
    public required GradCamInfo GradCam { get; init; }

    /// <summary>The network's parameter count.</summary>
    public required long Parameters { get; init; }

    /// <summary>How a single network was trained; null for an ensemble (see Members) and for an imported package.</summary>
    public required TrainingProvenance? Training { get; init; }

    /// <summary>An ensemble's packages as they were when joined; null for a single network.</summary>
    public required IReadOnlyList<EnsembleMember>? Members { get; init; }

    public required ProbabilityCalibration? Calibration { get; init; }

    /// <summary>Scores on the held-out images of the training data.</summary>
    public required ValidationMetrics? Metrics { get; init; }

    /// <summary>Scores on images from other sources than the training data; read beside Metrics.</summary>
    public required ExternalValidation? External { get; init; }

    /// <summary>The k-fold cross-validation of the recipe that trained this model (other weights, the same recipe).</summary>
    public required CrossValidationSummary? CrossValidation { get; init; }

    /// <summary>The sensitive operating point, <c>?operatingPoint=sensitive</c>.</summary>
    public required NoTumorOperatingPoint? SensitiveOperatingPoint { get; init; }

    /// <summary>Sanity checks of the maps, one per map method.</summary>
    public required IReadOnlyList<GradCamChecks>? GradCamChecks { get; init; }

    /// <summary>The pointing game on hand-boxed lesions, one per map method.</summary>
    public required IReadOnlyList<LesionPointingResult>? PointingGame { get; init; }

    /// <summary>The map method <c>/gradcam</c> uses when none is asked for (from GradCamChecks and PointingGame).</summary>
    public required string DefaultCamMethod { get; init; }

    /// <summary>The out-of-distribution guard; null for a model without one.</summary>
    public required OutOfDistributionGuard? OutOfDistribution { get; init; }

    /// <summary>Accuracy on the hold-out under fixed synthetic corruptions.</summary>
    public required ShiftSummary? Shift { get; init; }

    /// <summary>For an 8-bit model: the float model it came from and how closely it agrees with it.</summary>
    public required QuantizationInfo? Quantization { get; init; }

    public static ModelResponse From(ModelManifest manifest) => new()
    {
        Name = manifest.Name,
        Version = manifest.Version,
        Architecture = manifest.Architecture,
        Description = manifest.Description,
        Labels = manifest.Labels,
        Input = manifest.Input,
        Outputs = manifest.Outputs,
        GradCam = manifest.GradCam,
        Parameters = manifest.Parameters,
        Training = manifest.Training,
        Members = manifest.Members,
        Calibration = manifest.Calibration,
        Metrics = manifest.Metrics,
        External = manifest.External,
        CrossValidation = manifest.CrossValidation,
        SensitiveOperatingPoint = manifest.SensitiveOperatingPoint,
        GradCamChecks = manifest.GradCamChecks,
        PointingGame = manifest.PointingGame,
        DefaultCamMethod = manifest.DefaultCamMethod,
        OutOfDistribution = manifest.OutOfDistribution,
        Shift = manifest.Shift,
        Quantization = manifest.Quantization,
    };
}
