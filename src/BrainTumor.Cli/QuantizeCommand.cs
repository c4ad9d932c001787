using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Models;
using BrainTumor.Onnx;
using BrainTumor.Onnx.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;

namespace BrainTumor.Cli;

/// <summary>How the activations' ranges are chosen from the calibration images' values.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,

    /// <summary>The values at a percentile of each tensor's histogram (and the mirror one below), clipping rare outliers.</summary>
    Percentile,
}

/// <summary>
/// <c>braintumor quantize</c>: an 8-bit copy of a trained package (<see cref="QdqQuantizer"/>), calibrated on images of its training
/// split and compared with the float package on its held-out validation split.
/// </summary>
public static class QuantizeCommand
{
    private const int HistogramBins = 2048;

    public static Command Definition()
    {
        var method = new Option<CalibrationMethod>("--calibration")
        {
            Description = "How activation ranges are chosen: minmax (measured closer to the float model) or percentile.",
            DefaultValueFactory = _ => CalibrationMethod.MinMax,
        };
        var percentile = new Option<double>("--percentile")
        {
            Description = "With --calibration percentile: the upper percentile kept (the mirror one is the lower).",
            DefaultValueFactory = _ => 99.99,
        };
        var images = new Option<int>("--images") { Description = "Training-split images to calibrate on.", DefaultValueFactory = _ => 256 };
        var output = new Option<string>("--out")
        {
            Description = "Package folder to write, e.g. models/lite-cnn-int8; its name is the package's.", Required = true,
        };
        var quantize = new Command("quantize",
            "Write an 8-bit (QDQ) copy of a trained package, calibrated on its training split and compared with it on its held-out split.")
        {
            Commands.Model, Commands.TrainingData, output, method, percentile, images,
        };
        quantize.SetAction(parse => Commands.Run(() => Run(parse.GetValue(Commands.Model)!, parse.GetValue(Commands.TrainingData)!,
            parse.GetValue(output)!, parse.GetValue(method), parse.GetValue(percentile), parse.GetValue(images), Console.Out)));
        return quantize;
    }

    public static int Run(string modelName, string dataDirectory, string outputDirectory, CalibrationMethod method, double percentile,
        int images, TextWriter log)
    {
        if (method == CalibrationMethod.Percentile && !(percentile > 50 && percentile <= 100))
        {
            throw new CliException($"--percentile must be above 50 and at most 100, not {percentile}.");
        }
        if (images < 1)
        {
            throw new CliException($"--images must be at least 1, not {images}.");
        }
        string source = ModelLoader.PackageFolder(modelName);
        if (Path.GetFullPath(source) == Path.GetFullPath(outputDirectory))
        {
            throw new CliException("--out must be another folder than the float package.");
        }
        using var floatModel = ModelLoader.Load(source);
        var manifest = floatModel.Manifest;
        if (manifest.Quantization is not null)
        {
            throw new CliException($"Model '{manifest.Name}' is already quantised.");
        }
        var training = manifest.TrainedOn
            ?? throw new CliException($"Model '{manifest.Name}' records no training split to calibrate on.");
        string onnxPath = Path.Combine(source, ModelManifest.OnnxFileName);
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath));

        // Decoded as the server decodes, so that calibration and the comparison see what it serves.
        var dataset = ImageFolderDataset.Load(dataDirectory, manifest.Labels, manifest.Input.Width,
            warn: w => log.WriteLine($"warning: {w}"), preprocessing: manifest.Input.Steps, scaledDecoding: true);
        var split = EvaluateCommand.TrainingSplit(manifest, dataset, dataDirectory);
        var random = new Random(training.Split.Seed);
        var calibration = split.Train.OrderBy(_ => random.Next()).Take(images).ToList();
        var tensors = QdqQuantizer.ActivationTensors(graph.Graph, manifest.GradCam.Layer, manifest.Outputs.Logits);
        log.WriteLine($"calibrating {tensors.Count} activations of '{manifest.Name}' on {calibration.Count} training-split images " +
                      $"({Describe(method, percentile)})");
        var ranges = Calibrate(graph, tensors, manifest, calibration.Select(i => dataset.Samples[i]).ToList(), method, percentile);

        Directory.CreateDirectory(outputDirectory);
        OnnxExporter.Save(QdqQuantizer.Quantize(graph, manifest.GradCam.Layer, manifest.Outputs.Logits, ranges),
            Path.Combine(outputDirectory, ModelManifest.OnnxFileName));
        if (manifest.OutOfDistribution is { } guard)
        {
            // The guard's statistics are the float model's until fit-ood is run on the 8-bit package.
            string statistics = Path.GetFileName(guard.StatisticsFile);
            File.Copy(Path.Combine(source, statistics), Path.Combine(outputDirectory, statistics), overwrite: true);
        }
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputDirectory)));
        var draft = manifest with
        {
            Name = name,
            Description = $"{manifest.Description} 8-bit copy of '{manifest.Name}' (int8 weights, uint8 activations).",
            // Measured for the float weights; the 8-bit package's own are measured again or absent.
            External = null, CrossValidation = null, GradCamChecks = null, PointingGame = null, Shift = null, Metrics = null,
        };
        draft.Write(Path.Combine(outputDirectory, ModelManifest.FileName));

        using var quantizedModel = ModelLoader.Load(outputDirectory);
        var (agreement, metrics) = QuantizationComparison.Compare(floatModel, quantizedModel, dataset, split.Validation, log,
            ProgressBar.Start);
        var final = draft with
        {
            Metrics = metrics,
            Quantization = new QuantizationInfo(manifest.Name, manifest.Version,
                Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(onnxPath))), "int8, symmetric, one scale per output channel",
                "uint8, one scale and zero point per tensor; convolutions and additions of the layers up to the Grad-CAM layer, " +
                "and the input of each of the head's dense layers but the last",
                Describe(method, percentile), calibration.Count, agreement),
        };
        final.Write(Path.Combine(outputDirectory, ModelManifest.FileName));
        log.WriteLine($"wrote {outputDirectory}: accuracy {agreement.QuantizedAccuracy:F4} against the float model's " +
                      $"{agreement.FloatAccuracy:F4} on {agreement.Images} held-out images, " +
                      $"{agreement.ChangedPredictions} predictions changed, " +
                      $"largest probability change {agreement.MaxProbabilityDifference:F4}, " +
                      $"{agreement.CamMethod} map correlation {agreement.CamCorrelation:F4} " +
                      $"(lowest {agreement.LowestCamCorrelation:F4}), " +
                      $"{agreement.GuardVerdictsChanged?.ToString(CultureInfo.InvariantCulture) ?? "no"} guard verdicts changed");
        return 0;
    }

    private static string Describe(CalibrationMethod method, double percentile) => method switch
    {
        CalibrationMethod.MinMax => "minimum and maximum",
        _ => $"percentile {percentile} (and {100 - percentile:0.####} below) of a {HistogramBins}-bin histogram",
    };

    /// <summary>
    /// Runs the float model with every activation as an output, once for their extremes and, for percentiles, once more for
    /// histograms.
    /// </summary>
    private static Dictionary<string, ActivationRange> Calibrate(ModelProto model, IReadOnlyList<string> tensors, ModelManifest manifest,
        IReadOnlyList<LabelledImage> images, CalibrationMethod method, double percentile)
    {
        using var options = new SessionOptions
        {
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, IntraOpNumThreads = Environment.ProcessorCount,
        };
        using var session = new InferenceSession(QdqQuantizer.WithOutputs(model, tensors).ToByteArray(), options);
        using var runOptions = new RunOptions();
        var extremes = tensors.ToDictionary(t => t, _ => (Min: float.MaxValue, Max: float.MinValue));
        var histograms = tensors.ToDictionary(t => t, _ => new long[HistogramBins]);
        int passes = method == CalibrationMethod.MinMax ? 1 : 2;
        var progress = new ProgressBar(images.Count * passes, "calibrating");
        int done = 0;
        for (int pass = 0; pass < passes; pass++)
        {
            foreach (var image in images)
            {
                float[] input = new float[image.Image.Planes.Length];
                image.Image.WriteTensor(manifest.Input.Normalization, input);
                using var value = OrtValue.CreateTensorValueFromMemory(input, [1, 3, manifest.Input.Height, manifest.Input.Width]);
                using var outputs = session.Run(runOptions, [manifest.Input.Name], [value], tensors);
                for (int t = 0; t < tensors.Count; t++)
                {
                    var values = outputs[t].GetTensorDataAsSpan<float>();
                    var (min, max) = extremes[tensors[t]];
                    if (pass == 0)
                    {
                        foreach (float v in values)
                        {
                            min = Math.Min(min, v);
                            max = Math.Max(max, v);
                        }
                        extremes[tensors[t]] = (min, max);
                    }
                    else
                    {
                        var histogram = histograms[tensors[t]];
                        float width = max > min ? (max - min) / HistogramBins : 1;
                        foreach (float v in values)
                        {
                            histogram[Math.Clamp((int)((v - min) / width), 0, HistogramBins - 1)]++;
                        }
                    }
                }
                progress.Report(++done);
            }
        }
        return tensors.ToDictionary(t => t, t =>
        {
            var (min, max) = extremes[t];
            if (method == CalibrationMethod.MinMax)
            {
                return new ActivationRange(min, max);
            }
            var histogram = histograms[t];
            float width = max > min ? (max - min) / HistogramBins : 1;
            long total = histogram.Sum();
            // A tensor that is never negative (after a ReLU) keeps 0 as its floor, so that the ReLU folds into the quantisation.
            float low = min >= 0 ? min : min + width * Bin(histogram, (long)Math.Ceiling(total * (100 - percentile) / 100));
            float high = min + width * (Bin(histogram, (long)Math.Ceiling(total * percentile / 100)) + 1);
            return new ActivationRange(low, Math.Min(high, max));
        }, StringComparer.Ordinal);
    }

    /// <summary>The first bin at which the running count reaches <paramref name="count"/>.</summary>
    private static int Bin(long[] histogram, long count)
    {
        long running = 0;
        for (int bin = 0; bin < histogram.Length; bin++)
        {
            running += histogram[bin];
            if (running >= count)
            {
                return bin;
            }
        }
        return histogram.Length - 1;
    }
}
