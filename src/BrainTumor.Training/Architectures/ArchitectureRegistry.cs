namespace BrainTumor.Training.Architectures;

/// <summary>How an architecture is trained beyond the command's options.</summary>
/// <param name="WeightDecay">Decoupled weight decay (AdamW) when positive; plain Adam otherwise.</param>
/// <param name="LabelSmoothing">Label smoothing of the training loss (validation loss is never smoothed).</param>
/// <param name="CosineSchedule">Decay the learning rate along a half cosine over the maximum number of epochs.</param>
public sealed record TrainingRecipe(double WeightDecay = 0, double LabelSmoothing = 0, bool CosineSchedule = false)
{
    public static TrainingRecipe Paper { get; } = new();

    /// <summary>The recipe of every architecture that is not the paper's own CNN.</summary>
    public static TrainingRecipe Regularised { get; } = new(WeightDecay: 0.01, LabelSmoothing: 0.1, CosineSchedule: true);

    public string Optimizer => WeightDecay > 0 ? $"AdamW (weight decay {WeightDecay})" : "Adam";

    public string Description =>
        Optimizer + (LabelSmoothing > 0 ? $", label smoothing {LabelSmoothing}" : "") +
        (CosineSchedule ? ", cosine learning-rate schedule" : "");

    public double LearningRate(double baseRate, int epoch, int maxEpochs) =>
        CosineSchedule ? baseRate * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1) / maxEpochs)) : baseRate;
}

/// <param name="Create">Builds a freshly initialised network for an image size and a class count.</param>
public sealed record ArchitectureDefinition(
    string Name, string Description, int DefaultImageSize, Func<int, int, ClassifierNetwork> Create, TrainingRecipe? Recipe = null)
{
    public TrainingRecipe TrainingRecipe => Recipe ?? TrainingRecipe.Paper;
}

/// <summary>The architectures <c>train</c> knows, by name.</summary>
public static class ArchitectureRegistry
{
    public static IReadOnlyList<ArchitectureDefinition> All { get; } =
    [
        new("paper-cnn",
            "The published baseline: Conv 64-128-128 (3x3 valid, ReLU, 2x2 max pool), Dense 64 ReLU, Dense 4; " +
            "5,761,348 parameters at 224x224.",
            224,
            (imageSize, classes) => new ConvStackNetwork("paper-cnn", imageSize, [64, 128, 128], 64, classes)),
        // The paper gives only the ablation variants' parameter counts; these designs are the plausible ones
        // that match them exactly (3x3 'same' convolutions, 2x2 max pooling after each, Dense 64).
        new("paper-cnn-small",
            "Ablation 'CNN-Small': Conv 32-64-128 (3x3 same, ReLU, 2x2 max pool), Dense 64 ReLU, Dense 4; 6,516,100 parameters at 224x224.",
            224,
            (imageSize, classes) => new ConvStackNetwork("paper-cnn-small", imageSize, [32, 64, 128], 64, classes, samePadding: true)),
        new("paper-cnn-deeper",
            "Ablation 'CNN-Deeper': Conv 64-128-128-256 (3x3 same, ReLU, 2x2 max pool), Dense 64 ReLU, Dense 4; " +
            "3,729,988 parameters at 224x224.",
            224,
            (imageSize, classes) =>
                new ConvStackNetwork("paper-cnn-deeper", imageSize, [64, 128, 128, 256], 64, classes, samePadding: true)),
        new("lite-cnn",
            "Our own: strided stem, 3x3 conv, 4 depthwise-separable blocks, batch norm, global average pooling; Grad-CAM at 14x14.",
            224,
            (imageSize, classes) => new LiteCnn(imageSize, classes),
            TrainingRecipe.Regularised),
        new("resnet50",
            "Standard ResNet-50 (bottlenecks 3-4-6-3, batch norm), 4-class head, trained from scratch; " +
            "Grad-CAM at the last stage (2048 channels).",
            224,
            (imageSize, classes) => new ResNet50(imageSize, classes),
            TrainingRecipe.Regularised),
        new("resnet18",
            "ResNet-18 (basic blocks 2-2-2-3 as in the ImageNet file, batch norm) started from ImageNet weights " +
            "(NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0), input standardised in the graph to the ImageNet means, " +
            "new 4-class head; Grad-CAM at the last block (512 channels).",
            224,
            (imageSize, classes) => new ResNet18(imageSize, classes, Pretrained.ImageNetResNet18.Load()),
            TrainingRecipe.Regularised),
        // The rest of the paper's Table 2, as published (torchvision layouts), each with our training recipe, as resnet50.
        new("densenet121",
            "Standard DenseNet-121 (growth 32, blocks 6-12-24-16, BN-ReLU-Conv, transitions halving the channels), 4-class head, " +
            "trained from scratch; Grad-CAM at the final ReLU (1024 channels).",
            224,
            (imageSize, classes) => new DenseNet121(imageSize, classes),
            TrainingRecipe.Regularised),
        new("mobilenetv2",
            "Standard MobileNetV2 (width 1.0, inverted residuals, ReLU6), 4-class head, trained from scratch; " +
            "Grad-CAM at the last 1x1 convolution (1280 channels).",
            224,
            (imageSize, classes) => new MobileNetV2(imageSize, classes),
            TrainingRecipe.Regularised),
        new("efficientnetb0",
            "Standard EfficientNet-B0 (MBConv with squeeze-and-excitation, SiLU, stochastic depth 0.2), 4-class head, " +
            "trained from scratch; Grad-CAM at the last 1x1 convolution (1280 channels).",
            224,
            (imageSize, classes) => new EfficientNetB0(imageSize, classes),
            TrainingRecipe.Regularised),
    ];

    public static ArchitectureDefinition Get(string name) =>
        All.FirstOrDefault(a => a.Name == name)
        ?? throw new TrainingException($"Unknown architecture '{name}'; known: {string.Join(", ", All.Select(a => a.Name))}.");
}
