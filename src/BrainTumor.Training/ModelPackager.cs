using BrainTumor.Evaluation;
using BrainTumor.Models;
using BrainTumor.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace BrainTumor.Training;

/// <summary>
/// Writes a trained network as a model package (<c>model.onnx</c> + <c>model.json</c>). The manifest's
/// validation metrics are measured by ONNX Runtime on the exported file itself, and its agreement with
/// TorchSharp on the same images is checked before anything is written.
/// </summary>
public static class ModelPackager
{
    /// <summary>Largest difference in any class probability between ONNX Runtime and TorchSharp that is accepted.</summary>
    public const double ParityTolerance = 1e-4;

    public sealed record PackageResult(ModelManifest Manifest, double MaxProbabilityDifference);

    public static PackageResult Write(TrainingResult result, TrainingOptions options, ProgressReporter progress)
    {
        var network = result.Network;
        var description = network.Describe();
        Directory.CreateDirectory(options.OutputDirectory);
        string onnxPath = Path.Combine(options.OutputDirectory, ModelManifest.OnnxFileName);
        string staging = onnxPath + ".tmp";
        OnnxExporter.Save(OnnxExporter.Export(description), staging);

        var torchResult = Evaluator.Evaluate(network, result.Dataset, result.Split.Validation, Trainer.InputNormalization);
        var onnxProbabilities = OnnxProbabilities(staging, result);
        double maxDifference = onnxProbabilities.Zip(torchResult.Probabilities)
            .SelectMany(pair => pair.First.Zip(pair.Second, (a, b) => (double)Math.Abs(a - b))).Max();
        if (maxDifference > ParityTolerance)
        {
            File.Delete(staging);
            throw new TrainingException($"The exported model disagrees with TorchSharp by {maxDifference:E2} in a probability " +
                $"(tolerance {ParityTolerance:E0}); nothing was written.");
        }

        // Temperature scaling, fitted on the validation split, goes into the exported graph.
        double temperature = Calibration.FitTemperature(onnxProbabilities, torchResult.Truth);
        OnnxExporter.Save(OnnxExporter.Export(description, temperature: temperature), staging);
        var calibratedProbabilities = OnnxProbabilities(staging, result);
        var before = ProbabilisticMetrics.Compute(onnxProbabilities, torchResult.Truth, result.Dataset.Labels);
        var after = ProbabilisticMetrics.Compute(calibratedProbabilities, torchResult.Truth, result.Dataset.Labels);
        var calibration = new ProbabilityCalibration(Math.Round(temperature, 4),
            "the validation split (the same images as the metrics below, so the ECE after is optimistic)",
            Math.Round(before.ExpectedCalibrationError, 4), Math.Round(after.ExpectedCalibrationError, 4),
            Math.Round(before.LogLoss, 4), Math.Round(after.LogLoss, 4));
        var measured = EvaluationResult.FromProbabilities(calibratedProbabilities, torchResult.Truth, result.Dataset.Labels);
        File.Move(staging, onnxPath, overwrite: true);

        var manifest = BuildManifest(result, options, description, measured) with { Calibration = calibration };
        manifest.Write(Path.Combine(options.OutputDirectory, ModelManifest.FileName));
        progress.Line($"exported {onnxPath}: validation accuracy {measured.Metrics.Accuracy:F4}, macro-F1 {measured.Metrics.MacroF1:F4}, " +
                      $"loss {measured.Loss:F4} on {measured.Truth.Length} images (ONNX Runtime); " +
                      $"max |p_onnx - p_torch| = {maxDifference:E2}; " +
                      $"temperature {temperature:F3}: ECE {before.ExpectedCalibrationError:F4} -> {after.ExpectedCalibrationError:F4}");
        return new PackageResult(manifest, maxDifference);
    }

    private static float[][] OnnxProbabilities(string onnxPath, TrainingResult result)
    {
        using var sessionOptions = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(onnxPath, sessionOptions);
        int size = result.Network.ImageSize;
        var probabilities = new List<float[]>();
        foreach (var chunk in result.Split.Validation.Chunk(16))
        {
            var buffer = new float[chunk.Length * 3 * size * size];
            for (int i = 0; i < chunk.Length; i++)
            {
                result.Dataset.Samples[chunk[i]].Image.WriteTensor(Trainer.InputNormalization,
                    buffer.AsSpan(i * 3 * size * size, 3 * size * size));
            }
            using var input = OrtValue.CreateTensorValueFromMemory(buffer, [chunk.Length, 3, size, size]);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, new Dictionary<string, OrtValue> { [ModelTensorNames.Input] = input },
                [ModelTensorNames.Probabilities]);
            var flat = outputs[0].GetTensorDataAsSpan<float>();
            int classes = flat.Length / chunk.Length;
            for (int i = 0; i < chunk.Length; i++)
            {
                probabilities.Add(flat.Slice(i * classes, classes).ToArray());
            }
        }
        return probabilities.ToArray();
    }

    private static ModelManifest BuildManifest(TrainingResult result, TrainingOptions options, SequentialNetwork description,
        EvaluationResult measured)
    {
        var network = result.Network;
        var state = result.State;
        var normalization = Trainer.InputNormalization;
        int camIndex = description.GradCamLayerIndex;
        var camShape = description.Shapes()[camIndex];
        var split = result.Split;
        return new ModelManifest
        {
            Name = options.ResolvedModelName,
            Version = $"{state.StartedAt:yyyy.MM.dd}-e{state.BestEpoch}",
            Architecture = options.Architecture,
            Description = Architectures.ArchitectureRegistry.Get(options.Architecture).Description,
            Labels = result.Dataset.Labels,
            Input = new ModelInput(ModelTensorNames.Input, "NCHW", 3, network.ImageSize, network.ImageSize, "RGB",
                $"{options.Preprocessing.Describe()}; EXIF orientation applied first",
                normalization,
                options.Preprocessing == Imaging.Preprocessing.Stretch ? null : options.Preprocessing),
            Outputs = new ModelOutputs(ModelTensorNames.Logits, ModelTensorNames.Probabilities, ModelTensorNames.Cam,
                ModelTensorNames.CamClass, ModelTensorNames.TargetClass, ModelTensorNames.Features, ModelTensorNames.CamGradient,
                ModelTensorNames.CamActivation),
            GradCam = new GradCamInfo(description.Layers[camIndex].Name, camShape.Channels, camShape.Height, camShape.Width),
            Parameters = network.ParameterCount(),
            Training = new TrainingProvenance(
                Dataset: ModelManifest.RecordedPath(result.Dataset.Root),
                DatasetManifestSha256: result.Dataset.ManifestSha256(),
                DatasetContentSha256: result.Dataset.ContentSha256(),
                TrainingStartedAt: state.StartedAt,
                ExportedAt: DateTimeOffset.UtcNow,
                Seed: state.Seed,
                EpochsRun: state.EpochsCompleted,
                BestEpoch: state.BestEpoch,
                MaxEpochs: options.Epochs,
                BatchSize: state.BatchSize,
                LearningRate: state.LearningRate,
                Optimizer: options.LossDescription,
                Augmentation: options.AugmentationDescription,
                StoppedBy: state.StoppedBy ?? Trainer.StoppedAtEpochLimit,
                TrainingSeconds: Math.Round(state.TrainingSeconds, 1),
                Split: new DataSplit("stratified hold-out, exact duplicates (SHA-256) kept on one side", state.ValidationFraction,
                    split.Train.Count, split.Validation.Count, result.Dataset.Samples.Select(s => s.Sha256).Distinct().Count(), state.Seed),
                Machine: options.Machine,
                InitialWeights: network.InitialWeights),
            Metrics = ManifestScores.Validation(measured.Metrics, measured.Loss, "ONNX Runtime on model.onnx, held-out validation split"),
        };
    }
}
