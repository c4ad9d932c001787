using System.CommandLine;
using System.Globalization;
using BrainTumor.Data;
using BrainTumor.Training;
using BrainTumor.Training.Architectures;

var architecture = new Option<string>("--arch") { Description = "Architecture to train.", DefaultValueFactory = _ => "paper-cnn" };
var data = new Option<string>("--data") { Description = "Folder with one sub-folder of images per label.", Required = true };
var output = new Option<string>("--out") { Description = "Folder to write model.onnx and model.json to.", Required = true };
var reportOutput = new Option<string?>("--out") { Description = "Report folder (default: reports/cv-<arch>-<image size>)." };
var folds = new Option<int>("--folds") { Description = "Number of cross-validation folds.", DefaultValueFactory = _ => 5 };
var foldLimit = new Option<int?>("--fold-limit")
{
    Description = "Stop after this many folds are done (an ablation on the first folds); run again without it to continue."
};
var name = new Option<string?>("--name") { Description = "Model name in the manifest (default: the --out folder's name)." };
var checkpoints = new Option<string?>("--checkpoint-dir") { Description = "Where checkpoints go (default: checkpoints/<name>)." };
var epochs = new Option<int>("--epochs") { Description = "Maximum number of epochs.", DefaultValueFactory = _ => 100 };
var batchSize = new Option<int>("--batch-size") { Description = "Images per batch.", DefaultValueFactory = _ => 16 };
var learningRate = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 1e-3 };
var imageSize = new Option<int?>("--image-size") { Description = "Input size in pixels (default: the architecture's, 224 for paper-cnn)." };
var validationFraction = new Option<double>("--val-fraction")
{
    Description = "Share of each class held out for validation.", DefaultValueFactory = _ => 0.12
};
var seed = new Option<int>("--seed")
{
    Description = "Seed for initialisation, split, shuffling and augmentation.", DefaultValueFactory = _ => 42
};
var patience = new Option<int>("--patience")
{
    Description = "Epochs without a better validation loss before stopping.", DefaultValueFactory = _ => 5
};
var rotation = new Option<double>("--rotation")
{
    Description = "Largest random rotation in degrees (augmentation).", DefaultValueFactory = _ => 10
};
var timeBudget = new Option<TimeSpan?>("--time-budget")
{
    Description = "Wall-clock budget, e.g. 01:30:00; training stops (resumably) before exceeding it."
};
var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint (or start one if there is none)." };
var preprocessing = new Option<string>("--preprocessing")
{
    Description = "Input preprocessing: stretch (the paper's), head-crop, intensity, or head (crop and intensity).",
    DefaultValueFactory = _ => "stretch"
};
var augmentation = new Option<AugmentationMode>("--augment")
{
    Description = "Augmentation: paper (flip, rotation); scanner (also field of view, gamma and contrast, resolution, blur, noise); " +
        "sequence (scanner plus random grey-level curves); histogram (scanner plus histogram matching to another image of the batch); " +
        "gin (scanner plus a random 4-layer network's intensity remapping); or randconv (scanner plus one random linear filter).",
    DefaultValueFactory = _ => AugmentationMode.Paper
};
var headGuidance = new Option<double>("--head-guidance")
{
    Description = "Weight of a loss term: the share of the true class's Grad-CAM map outside the head (0: none).",
    DefaultValueFactory = _ => 0
};
var lesionGuidance = new Option<double>("--lesion-guidance")
{
    Description = "Weight of a loss term: the share of the true class's Grad-CAM map outside the hand-drawn lesion box, " +
        "on training images with a box (0: none).",
    DefaultValueFactory = _ => 0
};
var lesionBoxes = new Option<string[]>("--lesion-boxes")
{
    Description = "Lesion-box CSV (data/lesion-boxes/); repeat for several. Only boxes of images in the training part are used.",
    AllowMultipleArgumentsPerToken = false
};
var backboneRate = new Option<double>("--backbone-lr")
{
    Description = "Learning rate of a pretrained backbone as a share of the head's.", DefaultValueFactory = _ => 1
};
var headOnly = new Option<int>("--head-only-epochs")
{
    Description = "First epochs in which only the new head of a pretrained network trains.", DefaultValueFactory = _ => 0
};
var frozenNorms = new Option<bool>("--freeze-bn")
{
    Description = "Keep batch norm on its running (pretrained) statistics while training."
};
var threads = new Option<int?>("--threads") { Description = "CPU threads for TorchSharp (default: all cores)." };
var maxPerClass = new Option<int?>("--max-per-class") { Description = "Use at most this many images per class (quick runs)." };

var train = new Command("train", "Train a network, then export the best weights as an ONNX model package with Grad-CAM.")
{
    architecture, data, output, name, checkpoints, epochs, batchSize, learningRate, imageSize, validationFraction,
    seed, patience, rotation, preprocessing, augmentation, headGuidance, lesionGuidance, lesionBoxes, backboneRate, headOnly, frozenNorms,
    timeBudget, resume, threads, maxPerClass,
};
TrainingOptions ReadOptions(ParseResult parse, string outputDirectory) => new()
{
    Architecture = parse.GetValue(architecture)!,
    DataDirectory = parse.GetValue(data)!,
    OutputDirectory = outputDirectory,
    ModelName = parse.GetValue(name),
    CheckpointDirectory = parse.GetValue(checkpoints),
    Epochs = parse.GetValue(epochs),
    BatchSize = parse.GetValue(batchSize),
    LearningRate = parse.GetValue(learningRate),
    ImageSize = parse.GetValue(imageSize),
    ValidationFraction = parse.GetValue(validationFraction),
    Seed = parse.GetValue(seed),
    Patience = parse.GetValue(patience),
    RotationDegrees = parse.GetValue(rotation),
    Preprocessing = ParsePreprocessing(parse.GetValue(preprocessing)!),
    Augmentation = parse.GetValue(augmentation),
    HeadGuidance = parse.GetValue(headGuidance),
    LesionGuidance = parse.GetValue(lesionGuidance),
    LesionBoxFiles = parse.GetValue(lesionBoxes) ?? [],
    BackboneLearningRate = parse.GetValue(backboneRate),
    HeadOnlyEpochs = parse.GetValue(headOnly),
    FrozenBatchNorm = parse.GetValue(frozenNorms),
    TimeBudget = parse.GetValue(timeBudget),
    Resume = parse.GetValue(resume),
    Threads = parse.GetValue(threads),
    MaxImagesPerClass = parse.GetValue(maxPerClass),
};

static BrainTumor.Imaging.Preprocessing ParsePreprocessing(string name)
{
    try
    {
        return BrainTumor.Imaging.Preprocessing.Parse(name);
    }
    catch (ArgumentException ex)
    {
        throw new TrainingException(ex.Message);
    }
}

train.SetAction((parse, cancellation) => Cli.Run(() =>
{
    var options = ReadOptions(parse, parse.GetValue(output)!);
    var progress = ProgressReporter.ForConsole();
    var result = new Trainer(options, progress).Run(cancellation);
    ModelPackager.Write(result, options, progress);
}));

var crossValidate = new Command("cv",
    "Stratified, duplicate-aware k-fold cross-validation with reports and plots; run it again to continue an interrupted run.")
{
    architecture, data, reportOutput, folds, foldLimit, checkpoints, epochs, batchSize, learningRate, imageSize, validationFraction,
    seed, patience, rotation, preprocessing, augmentation, headGuidance, lesionGuidance, lesionBoxes, backboneRate, headOnly, frozenNorms,
    timeBudget, threads, maxPerClass,
};
crossValidate.SetAction((parse, cancellation) => Cli.Run(() =>
{
    string input = parse.GetValue(preprocessing) is "stretch" ? "" : $"-{parse.GetValue(preprocessing)}";
    string augment = parse.GetValue(augmentation) == AugmentationMode.Paper
        ? ""
        : $"-{parse.GetValue(augmentation).ToString().ToLowerInvariant()}";
    string guided = (parse.GetValue(headGuidance) > 0 ? "-guided" : "") + (parse.GetValue(lesionGuidance) > 0 ? "-lesion" : "");
    string stem = $"cv-{parse.GetValue(architecture)}-{parse.GetValue(imageSize)?.ToString() ?? "default"}{input}{augment}{guided}";
    string reportFolder = parse.GetValue(reportOutput) ?? Path.Combine("reports", stem);
    var options = ReadOptions(parse, reportFolder) with
    {
        CheckpointDirectory = parse.GetValue(checkpoints) ?? Path.Combine("checkpoints", stem)
    };
    new CrossValidation(options, parse.GetValue(folds), reportFolder, ProgressReporter.ForConsole(), parse.GetValue(foldLimit))
        .Run(cancellation);
}));

var architectures = new Command("architectures", "List the architectures that can be trained, with their size and cost per image.")
{
    imageSize
};
architectures.SetAction(parse =>
{
    Console.WriteLine($"{"name",-17} {"input",-8} {"parameters",11} {"GFLOPs",7}  description");
    foreach (var definition in ArchitectureRegistry.All)
    {
        int size = parse.GetValue(imageSize) ?? definition.DefaultImageSize;
        string row;
        try
        {
            using var network = definition.Create(size, DatasetLabels.BrainTumor.Count);
            // FLOPs counted as two per multiply-add, the usual convention.
            row = string.Create(CultureInfo.InvariantCulture,
                $"{network.ParameterCount(),11:N0} {2 * network.Describe().MultiplyAdds() / 1e9,7:F2}  {definition.Description}");
        }
        catch (Exception ex) when (ex is TrainingException or InvalidOperationException)
        {
            row = ex.Message;
        }
        Console.WriteLine($"{definition.Name,-17} {$"{size}x{size}",-8} {row}");
    }
});

var root = new RootCommand("BrainTumor model training (TorchSharp), cross-validation and ONNX export.")
{
    train, crossValidate, architectures
};
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    Console.Error.WriteLine($"error: {parsed.Errors[0].Message} (see --help)");
    return 2;
}
return await parsed.InvokeAsync();
