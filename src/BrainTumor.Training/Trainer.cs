using System.Diagnostics;
using BrainTumor.Imaging;
using BrainTumor.Training.Architectures;
using BrainTumor.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace BrainTumor.Training;

/// <summary>The outcome of a run: the network with its best weights loaded, and how it got there.</summary>
public sealed record TrainingResult(
    ClassifierNetwork Network, ImageFolderDataset Dataset, DuplicateAwareSplit.Split Split, CheckpointState State,
    string CheckpointDirectory);

/// <summary>
/// Trains with Adam and the paper's augmentation; after every epoch it measures the validation split,
/// keeps the weights with the lowest validation loss and writes a checkpoint; it stops early when the
/// validation loss has not improved for <see cref="TrainingOptions.Patience"/> epochs, at the epoch
/// limit, or before the time budget runs out.
/// </summary>
public sealed class Trainer(TrainingOptions options, ProgressReporter progress)
{
    public const string StoppedEarly = "early-stopping";
    public const string StoppedAtEpochLimit = "max-epochs";
    public const string StoppedByTimeBudget = "time-budget";

    public static Normalization InputNormalization => Normalization.Rescale255;

    public TrainingResult Run(CancellationToken cancellation = default)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        ConfigureRuntime();
        var dataset = LoadDataset(options, ImageSize, progress);
        var split = dataset.HoldOut(options.ValidationFraction, options.Seed);
        progress.Line($"split: {split.Train.Count} training, {split.Validation.Count} validation images " +
                      $"(stratified, duplicates kept together, seed {options.Seed})");
        return Train(dataset, split, options.ResolvedCheckpointDirectory, clock, cancellation)
            ?? throw new TrainingException("No epoch finished, so there are no weights to export; give a larger --time-budget.");
    }

    public int ImageSize => options.ImageSize ?? ArchitectureRegistry.Get(options.Architecture).DefaultImageSize;

    public void ConfigureRuntime()
    {
        NativeAllocator.KeepFreedBlocksForReuse();
        if (options.Threads is int threads)
        {
            set_num_threads(threads);
        }
    }

    /// <summary>
    /// Trains on <paramref name="split"/>'s training part, validating on its other part, with checkpoints in
    /// <paramref name="directory"/>. Null when the time budget (counted on <paramref name="runClock"/>) ran out
    /// before any epoch finished.
    /// </summary>
    public TrainingResult? Train(ImageFolderDataset dataset, DuplicateAwareSplit.Split split, string directory, Stopwatch runClock,
        CancellationToken cancellation)
    {
        var architecture = ArchitectureRegistry.Get(options.Architecture);
        string datasetSha = dataset.ContentSha256();
        random.manual_seed(options.Seed);
        var network = architecture.Create(dataset.ImageSize, dataset.Labels.Count);
        var recipe = architecture.TrainingRecipe;
        var (optimizer, backboneGroup) = CreateOptimizer(network, recipe);
        Directory.CreateDirectory(directory);
        var state = StartOrResume(network, optimizer, directory, dataset.ImageSize, datasetSha);
        var lesions = options.LesionGuidance > 0
            ? LesionMasks.For(dataset, split.Train, LesionMasks.Read(options.LesionBoxFiles), options.Preprocessing)
            : null;
        if (lesions is not null)
        {
            progress.Line($"lesion guidance: {lesions.Count} of the {split.Train.Count} training images have a hand-drawn box");
        }

        bool finished = state.StoppedBy == StoppedEarly || state.EpochsCompleted >= options.Epochs;
        if (finished)
        {
            progress.Line(
                $"checkpoint in {directory} has already finished ({state.StoppedBy ?? StoppedAtEpochLimit}); using its best weights");
        }
        string stoppedBy = state.StoppedBy ?? StoppedAtEpochLimit;
        for (int epoch = state.EpochsCompleted + 1; !finished && epoch <= options.Epochs; epoch++)
        {
            double averageEpoch = state.History.Count == 0 ? 0 : state.History.Average(h => h.Seconds);
            if (options.TimeBudget is TimeSpan budget && runClock.Elapsed.TotalSeconds + averageEpoch > budget.TotalSeconds)
            {
                stoppedBy = StoppedByTimeBudget;
                progress.Line($"stopping before epoch {epoch}: the time budget of {budget} would be exceeded; resume with --resume");
                break;
            }
            var epochClock = Stopwatch.StartNew();
            double rate = recipe.LearningRate(options.LearningRate, epoch, options.Epochs);
            var groups = optimizer.ParamGroups.ToList();
            for (int g = 0; g < groups.Count; g++)
            {
                groups[g].LearningRate = g != backboneGroup ? rate
                    : epoch <= options.HeadOnlyEpochs ? 0
                    : rate * options.BackboneLearningRate;
            }
            var (trainLoss, trainAccuracy) = TrainEpoch(network, optimizer, dataset, split.Train, lesions, epoch, recipe.LabelSmoothing,
                runClock, cancellation);
            if (double.IsNaN(trainLoss))
            {
                stoppedBy = StoppedByTimeBudget;
                progress.Line($"time budget reached during epoch {epoch}; the epoch is discarded, the checkpoint keeps epoch {epoch - 1}");
                break;
            }
            var validation = Evaluator.Evaluate(network, dataset, split.Validation, InputNormalization);
            bool improved = state.BestValidationLoss is not double best || validation.Loss < best;
            if (improved)
            {
                network.save(CheckpointState.BestWeights(directory));
            }
            var record = new EpochRecord(epoch, trainLoss, trainAccuracy, validation.Loss, validation.Metrics.Accuracy,
                validation.Metrics.MacroF1, epochClock.Elapsed.TotalSeconds);
            state = state with
            {
                EpochsCompleted = epoch,
                BestEpoch = improved ? epoch : state.BestEpoch,
                BestValidationLoss = improved ? validation.Loss : state.BestValidationLoss,
                EpochsWithoutImprovement = improved ? 0 : state.EpochsWithoutImprovement + 1,
                TrainingSeconds = state.TrainingSeconds + record.Seconds,
                History = [.. state.History, record],
                StoppedBy = null,
            };
            network.save(CheckpointState.LastWeights(directory));
            optimizer.save_state_dict(CheckpointState.LastOptimizer(directory));
            progress.Line($"epoch {epoch}: train loss {trainLoss:F4} acc {trainAccuracy:F3} | validation loss {validation.Loss:F4} " +
                          $"acc {validation.Metrics.Accuracy:F3} macro-F1 {validation.Metrics.MacroF1:F3}" +
                          $"{(improved ? " (best)" : "")} | {record.Seconds:F0} s");
            if (state.EpochsWithoutImprovement >= options.Patience)
            {
                stoppedBy = StoppedEarly;
                progress.Line($"early stopping: no improvement of the validation loss for {options.Patience} epochs; " +
                    $"best epoch {state.BestEpoch}");
                finished = true;
            }
            state.Write(directory);
        }

        state = state with { StoppedBy = stoppedBy };
        state.Write(directory);
        if (!File.Exists(CheckpointState.BestWeights(directory)))
        {
            network.Dispose();
            return null;
        }
        network.load(CheckpointState.BestWeights(directory));
        return new TrainingResult(network, dataset, split, state, directory);
    }

    /// <summary>
    /// Adam or AdamW; a network with pretrained parameters gets them as their own group (index returned, else -1), so that
    /// the backbone can learn more slowly than the new head, or not at all in the first epochs.
    /// </summary>
    private (TorchSharp.Modules.OptimizerHelper Optimizer, int BackboneGroup) CreateOptimizer(ClassifierNetwork network,
        TrainingRecipe recipe)
    {
        var named = network.named_parameters().ToList();
        var backbone = named.Where(p => network.IsPretrained(p.name)).Select(p => p.parameter).ToList();
        if (backbone.Count == 0)
        {
            return (recipe.WeightDecay > 0
                ? optim.AdamW(network.parameters(), options.LearningRate, weight_decay: recipe.WeightDecay)
                : optim.Adam(network.parameters(), options.LearningRate), -1);
        }
        if (recipe.WeightDecay <= 0)
        {
            throw new TrainingException($"{options.Architecture} starts from pretrained weights and needs a recipe with weight decay.");
        }
        var head = named.Where(p => !network.IsPretrained(p.name)).Select(p => p.parameter).ToList();
        List<TorchSharp.Modules.AdamW.ParamGroup> groups =
            [
                new(backbone, lr: options.LearningRate, weight_decay: recipe.WeightDecay),
                new(head, lr: options.LearningRate, weight_decay: recipe.WeightDecay)
            ];
        return (optim.AdamW(groups, options.LearningRate, weight_decay: recipe.WeightDecay), 0);
    }

    public static ImageFolderDataset LoadDataset(TrainingOptions options, int imageSize, ProgressReporter progress)
    {
        var clock = Stopwatch.StartNew();
        var dataset = ImageFolderDataset.Load(options.DataDirectory, DatasetLabels.BrainTumor, imageSize,
            options.MaxImagesPerClass, warning => progress.Line($"warning: {warning}"), options.Preprocessing);
        var counts = dataset.Labels.Select((label, i) => $"{label} {dataset.Samples.Count(s => s.Label == i)}");
        progress.Line($"loaded {dataset.Samples.Count} images at {imageSize}x{imageSize} in {clock.Elapsed.TotalSeconds:F1} s " +
                      $"({string.Join(", ", counts)}; {dataset.Samples.Select(s => s.Sha256).Distinct().Count()} unique)");
        return dataset;
    }

    private CheckpointState StartOrResume(ClassifierNetwork network, TorchSharp.Modules.OptimizerHelper optimizer, string directory,
        int imageSize, string datasetSha)
    {
        var existing = CheckpointState.TryRead(directory);
        if (existing is not null && !options.Resume)
        {
            throw new TrainingException(
                $"'{directory}' already holds a checkpoint; pass --resume to continue it, or choose another --checkpoint-dir.");
        }
        if (existing is null)
        {
            if (options.Resume)
            {
                progress.Line($"no checkpoint in {directory} yet; starting a new run");
            }
            return new CheckpointState
            {
                Architecture = options.Architecture,
                ImageSize = imageSize,
                Seed = options.Seed,
                ValidationFraction = options.ValidationFraction,
                BatchSize = options.BatchSize,
                LearningRate = options.LearningRate,
                DatasetContentSha256 = datasetSha,
                InputRecipe = CheckpointState.InputRecipeOf(options),
                StartedAt = DateTimeOffset.UtcNow,
            };
        }
        if (existing.Incompatibility(options, imageSize, datasetSha) is string reason)
        {
            throw new TrainingException($"Cannot resume from '{directory}': {reason}.");
        }
        if (existing.EpochsCompleted > 0)
        {
            network.load(CheckpointState.LastWeights(directory));
            optimizer.load_state_dict(CheckpointState.LastOptimizer(directory));
        }
        progress.Line($"resuming from {directory} after epoch {existing.EpochsCompleted} (best epoch {existing.BestEpoch})");
        return existing with { StoppedBy = existing.StoppedBy == StoppedByTimeBudget ? null : existing.StoppedBy };
    }

    /// <summary>Mean loss and accuracy over the epoch, or NaN when the time budget ran out during it.</summary>
    private (double Loss, double Accuracy) TrainEpoch(ClassifierNetwork network, optim.Optimizer optimizer,
        ImageFolderDataset dataset, IReadOnlyList<int> trainIndices, LesionMasks? lesions, int epoch, double labelSmoothing,
        Stopwatch runClock, CancellationToken cancellation)
    {
        network.TrainingMode(options.FrozenBatchNorm);
        // Shuffling and augmentation draw from a generator seeded by (seed, epoch), and dropout and stochastic depth from
        // LibTorch's global one, seeded the same way, so a resumed run repeats exactly what an uninterrupted one would have done.
        var random = new Random(DuplicateAwareSplit.DerivedSeed(options.Seed, 1000 + epoch));
        TorchSharp.torch.random.manual_seed(DuplicateAwareSplit.DerivedSeed(options.Seed, 2000 + epoch));
        var order = trainIndices.ToArray();
        random.Shuffle(order);
        var batches = order.Chunk(options.BatchSize).ToArray();
        var epochClock = Stopwatch.StartNew();
        double lossSum = 0;
        long correct = 0, seen = 0;
        for (int b = 0; b < batches.Length; b++)
        {
            cancellation.ThrowIfCancellationRequested();
            if (options.TimeBudget is TimeSpan budget && runClock.Elapsed > budget)
            {
                return (double.NaN, double.NaN);
            }
            using var scope = NewDisposeScope();
            var plain = Batches.Images(dataset.Samples, batches[b], InputNormalization);
            // The head mask and the lesion box are channels of one tensor, so that the augmentation moves both with the image.
            var head = options.HeadGuidance > 0 ? Batches.HeadMasks(dataset.Samples, batches[b]) : null;
            var lesion = lesions?.Batch(batches[b]);
            Tensor? masks = (head, lesion) switch
            {
                (null, null) => null,
                (not null, null) => head,
                (null, var (box, _)) => box,
                (not null, var (box, _)) => cat([head, box], 1),
            };
            var (augmented, movedMasks) = options.Augmentation == AugmentationMode.Paper
                ? Batches.Augment(plain, random, options.RotationDegrees, masks)
                : ScannerAugmentation.Apply(plain, random, options.RotationDegrees, options.Augmentation, masks);
            var images = Batches.ToChannelsLast(augmented);
            var labels = Batches.Labels(dataset.Samples, batches[b]);
            optimizer.zero_grad();
            var (activation, logits) = network.ForwardWithActivation(images);
            var loss = nn.functional.cross_entropy(logits, labels, label_smoothing: labelSmoothing);
            if (movedMasks is not null)
            {
                var cam = TrueClassMap(activation, logits, labels);
                if (head is not null)
                {
                    loss = loss + options.HeadGuidance * OutsideShares(cam, movedMasks.narrow(1, 0, 1)).mean();
                }
                if (lesion is var (_, boxed))
                {
                    // Averaged over the images that have a box, so the weight does not depend on how many a batch holds.
                    var outside = OutsideShares(cam, movedMasks.narrow(1, movedMasks.shape[1] - 1, 1));
                    loss = loss + options.LesionGuidance * (outside * boxed).sum() / boxed.sum().clamp_min(1);
                }
            }
            loss.backward();
            optimizer.step();

            lossSum += loss.item<float>() * batches[b].Length;
            correct += logits.argmax(1).eq(labels).sum().item<long>();
            seen += batches[b].Length;
            progress.Batch(epoch, options.Epochs, b + 1, batches.Length, lossSum / seen, (double)correct / seen, epochClock.Elapsed);
        }
        return (lossSum / seen, (double)correct / seen);
    }

    /// <summary>
    /// Each image's Grad-CAM map for its true class, kept differentiable: the gradient of the logit with respect to the
    /// Grad-CAM layer is taken with create_graph, so a penalty on the map trains the network. Only the head (the layers
    /// after the Grad-CAM layer) is differentiated twice, which costs little.
    /// </summary>
    private static Tensor TrueClassMap(Tensor activation, Tensor logits, Tensor labels)
    {
        var score = logits.gather(1, labels.unsqueeze(1)).sum();
        var gradient = autograd.grad([score], [activation], retain_graph: true, create_graph: true)[0];
        return nn.functional.relu((gradient.mean([2, 3], keepdim: true) * activation).sum(1));
    }

    /// <summary>Each image's share of <paramref name="cam"/> outside its mask ([N, 1, H, W], pooled to the map's resolution).</summary>
    private static Tensor OutsideShares(Tensor cam, Tensor masks)
    {
        var inside = nn.functional.adaptive_avg_pool2d(masks, [cam.shape[1], cam.shape[2]]).squeeze(1);
        return (cam * (1 - inside)).sum([1, 2]) / (cam.sum([1, 2]) + 1e-6);
    }
}
