using System.CommandLine;
using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Inference;
using BrainTumor.Models;

namespace BrainTumor.Cli;

/// <summary><c>braintumor shift</c>: the <see cref="ShiftBenchmark"/> of models trained on the same data and split.</summary>
public static class ShiftCommand
{
    public static Command Definition()
    {
        var models = new Option<string[]>("--model")
        {
            Description = "Models to compare, as package folders or names under models/ (repeat the option).",
            Arity = ArgumentArity.OneOrMore, Required = true,
        };
        var output = new Option<string>("--out")
        {
            Description = "Report folder.", DefaultValueFactory = _ => Path.Combine("reports", "shift"),
        };
        var record = new Option<bool>("--record")
        {
            Description = "Record each model's mean, clean and worst accuracy in its model.json (shift), where GET /models shows it.",
        };
        var shift = new Command("shift",
            "Score models on their held-out Training images under fixed, seeded corruptions (brightness, contrast, gamma, blur, noise, " +
            "JPEG, resolution).")
        {
            models, Commands.Data, output, record,
        };
        shift.SetAction(parse => Commands.Run(() => Run(parse.GetValue(models)!, parse.GetValue(Commands.Data)!, parse.GetValue(output)!,
            Console.Out, parse.GetValue(record))));
        return shift;
    }

    /// <param name="record">Also write each model's <see cref="ShiftSummary"/> into its <c>model.json</c>.</param>
    public static IReadOnlyList<ShiftScore> Run(IReadOnlyList<string> modelDirectories, string dataDirectory, string outputDirectory,
        TextWriter log, bool record = false)
    {
        if (modelDirectories.Count == 0)
        {
            throw new CliException("Give at least one --model.");
        }
        var models = new List<ClassifierModel>();
        try
        {
            foreach (var directory in modelDirectories)
            {
                models.Add(ModelLoader.Load(directory));
            }
            var training = models
                .Select(m => m.Manifest.TrainedOn ?? throw new CliException($"Model '{m.Name}' records no training split.")).ToList();
            if (training.Any(t => t.DatasetContentSha256 != training[0].DatasetContentSha256 || t.Split.Seed != training[0].Split.Seed
                                  || t.Split.ValidationFraction != training[0].Split.ValidationFraction))
            {
                throw new CliException("The models were trained on different data or splits, so they have no common held-out images.");
            }
            // Only the file list, labels and hashes are needed here; each image is decoded again at full size by the benchmark.
            var dataset = ImageFolderDataset.Load(dataDirectory, models[0].Manifest.Labels, 8, warn: w => log.WriteLine($"warning: {w}"));
            if (dataset.ContentSha256() != training[0].DatasetContentSha256)
            {
                throw new CliException(
                    $"'{dataDirectory}' is not the data the models were trained on, so their held-out split cannot be rebuilt.");
            }
            var heldOut = dataset.HoldOut(training[0].Split.ValidationFraction, training[0].Split.Seed).Validation;

            var scores = ShiftBenchmark.Run(models, dataset, heldOut, ProgressBar.Start);
            ShiftBenchmark.Save(outputDirectory, models, dataDirectory, heldOut.Count, scores);
            log.WriteLine($"report: {Path.Combine(outputDirectory, "report.md")}");
            if (record)
            {
                string report = ModelManifest.RecordedPath(outputDirectory);
                foreach (var model in models)
                {
                    string path = Path.Combine(model.Directory, ModelManifest.FileName);
                    var summary = ShiftBenchmark.Summarise(scores.Where(s => s.Model == ShiftBenchmark.Label(model)).ToList(), report,
                        heldOut.Count);
                    (ModelManifest.Read(path) with { Shift = summary }).Write(path);
                    log.WriteLine($"{model.Name}: mean accuracy {summary.MeanAccuracy:F3} over the corruptions " +
                                  $"(clean {summary.Clean:F3}, worst {summary.Worst} {summary.WorstAccuracy:F3}) recorded in {path}");
                }
            }
            return scores;
        }
        finally
        {
            foreach (var model in models)
            {
                model.Dispose();
            }
        }
    }
}
