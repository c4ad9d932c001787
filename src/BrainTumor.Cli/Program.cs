using System.CommandLine;
using BrainTumor.Cli;
using BrainTumor.Data;

var model = new Option<string>("--model") { Description = "Model package folder (model.onnx + model.json).", DefaultValueFactory = _ => "models/custom-cnn" };

var data = new Option<string>("--data") { Description = "Labelled folder: one sub-folder of images per label.", Required = true };
var output = new Option<string?>("--out") { Description = "Report folder (default: reports/evaluate-<model>-<split>)." };
var split = new Option<EvaluationSplit>("--split") { Description = "all, or validation: only the held-out split the model's manifest records.", DefaultValueFactory = _ => EvaluationSplit.All };
var evaluate = new Command("evaluate", "Evaluate a model on a labelled folder: metrics, report.md, report.json and plots.") { model, data, output, split };
evaluate.SetAction(parse => Run(() => EvaluateCommand.Run(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(output), parse.GetValue(split), Console.Out)));

var paths = new Argument<string[]>("paths") { Description = "Image files and/or folders (searched recursively).", Arity = ArgumentArity.OneOrMore };
var format = new Option<string>("--format") { Description = "csv or json.", DefaultValueFactory = _ => "csv" };
var predictOutput = new Option<string?>("--out") { Description = "File to write (default: standard output)." };
var predict = new Command("predict", "Classify images; one row per file with the label and every class's probability.") { paths, model, format, predictOutput };
predict.SetAction(parse => Run(() =>
{
    string? file = parse.GetValue(predictOutput);
    using var writer = file is null ? Console.Out : new StreamWriter(file);
    var results = PredictCommand.Run(parse.GetValue(model)!, parse.GetValue(paths)!, parse.GetValue(format)!, writer);
    foreach (var failure in results.Where(r => r.Error is not null))
    {
        Console.Error.WriteLine($"error: {failure.File}: {failure.Error}");
    }
    return results.Any(r => r.Error is not null) ? 1 : 0;
}));

var root = new RootCommand("BrainTumor command line: evaluate and use shipped models with ONNX Runtime.") { evaluate, predict };
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    Console.Error.WriteLine($"error: {parsed.Errors[0].Message} (see --help)");
    return 2;
}
return await parsed.InvokeAsync();

static int Run(Func<object?> command)
{
    try
    {
        return command() is int code ? code : 0;
    }
    catch (Exception ex) when (ex is CliException or DatasetException)
    {
        Console.Error.WriteLine($"error: {ex.Message}");
        return 1;
    }
}
