using System.CommandLine;
using BrainTumor.Cli;
using BrainTumor.Data;
using BrainTumor.Evaluation;
using BrainTumor.Import;

var model = new Option<string>("--model")
{
    Description = "Model: a package folder (model.onnx + model.json) or the name of one under models/.",
    DefaultValueFactory = _ => "lite-cnn",
};

var data = new Option<string>("--data") { Description = "Labelled folder: one sub-folder of images per label.", Required = true };
var output = new Option<string?>("--out") { Description = "Report folder (default: reports/evaluate-<model>-<split>)." };
var split = new Option<EvaluationSplit>("--split")
{
    Description = "all, or validation: only the held-out split the model's manifest records.",
    DefaultValueFactory = _ => EvaluationSplit.All,
};
var gradCamDeletion = new Option<double?>("--gradcam-deletion")
{
    Description = "Also check Grad-CAM's faithfulness: blank this share of each image where the map is highest (e.g. 0.2) and compare " +
        "with a shuffled map.",
};
var recordExternal = new Option<bool>("--record-external")
{
    Description = "Record the results in the package's model.json as its external validation (for a set from other sources than the " +
        "training data).",
};
var gradCamChecks = new Option<bool>("--gradcam-checks")
{
    Description = "Also run the Grad-CAM sanity checks (cascading randomisation, class sensitivity, map outside the head, stability) on " +
        "10 images per class, and record them in the package's model.json.",
};
var exclude = new Option<string[]>("--exclude")
{
    Description = "A file (relative to --data, e.g. glioma_tumor/image(56).jpg) to leave out of a second set of figures; repeat for " +
        "several.",
    AllowMultipleArgumentsPerToken = false,
};
var pairedWith = new Option<string?>("--paired-with")
{
    Description = "The report folder of another model's evaluation on the same data: count the images only one of the two got right, " +
        "with the exact McNemar test.",
};
var lesionBoxes = new Option<string?>("--lesion-boxes")
{
    Description = "A CSV of hand-drawn lesion boxes on this data (data/lesion-boxes/*.csv): also play the pointing game with every map " +
        "method on the evaluated slices that have one.",
};
var fullDecode = new Option<bool>("--full-decode")
{
    Description = "Decode every JPEG at full size, as training does. By default a JPEG at least twice the model's input is decoded at " +
        "1/2, 1/4 or 1/8 scale, as the server does.",
};
var evaluate = new Command("evaluate", "Evaluate a model on a labelled folder: metrics, report.md, report.json, predictions.csv and plots.")
{
    model, data, output, split, gradCamDeletion, recordExternal, gradCamChecks, exclude, pairedWith, lesionBoxes, fullDecode,
};
evaluate.SetAction(parse => Run(() => EvaluateCommand.Run(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(output),
    parse.GetValue(split), Console.Out, parse.GetValue(gradCamDeletion), parse.GetValue(recordExternal), parse.GetValue(gradCamChecks),
    parse.GetValue(exclude), parse.GetValue(pairedWith), parse.GetValue(lesionBoxes), parse.GetValue(fullDecode))));

var paths = new Argument<string[]>("paths")
{
    Description = "Image files and/or folders (searched recursively).",
    Arity = ArgumentArity.OneOrMore,
};
var format = new Option<string>("--format") { Description = "csv or json.", DefaultValueFactory = _ => "csv" };
var predictOutput = new Option<string?>("--out") { Description = "File to write (default: standard output)." };
var operatingPoint = new Option<string>("--operating-point")
{
    Description = "argmax (the most probable class) or sensitive (a tumour class unless no_tumor reaches the model's fitted minimum).",
    DefaultValueFactory = _ => "argmax",
};
var predict = new Command("predict", "Classify images; one row per file with the label and every class's probability.")
{
    paths, model, format, predictOutput, operatingPoint, fullDecode,
};
predict.SetAction(parse => Run(() =>
{
    string? file = parse.GetValue(predictOutput);
    if (file is not null && Path.GetDirectoryName(Path.GetFullPath(file)) is string folder)
    {
        Directory.CreateDirectory(folder);
    }
    using var writer = file is null ? Console.Out : new StreamWriter(file);
    var results = PredictCommand.Run(parse.GetValue(model)!, parse.GetValue(paths)!, parse.GetValue(format)!, writer,
        parse.GetValue(operatingPoint)!, parse.GetValue(fullDecode));
    foreach (var failure in results.Where(r => r.Error is not null))
    {
        Console.Error.WriteLine($"error: {failure.File}: {failure.Error}");
    }
    if (file is not null)
    {
        Console.Error.WriteLine($"wrote {results.Count(r => r.Error is null)} of {results.Count} results to {file}");
    }
    return results.Any(r => r.Error is not null) ? 1 : 0;
}));

var onnx = new Option<string>("--onnx") { Description = "The ONNX classifier to import.", Required = true };
var labels = new Option<string>("--labels") { Description = "Class labels in output order, comma-separated.", Required = true };
var inputSize = new Option<string>("--input-size") { Description = "Input height,width in pixels, e.g. 224,224.", Required = true };
var normalisation = new Option<string>("--normalisation")
{
    Description = "rescale (x/255), imagenet, raw, or scale=S;mean=a,b,c;std=a,b,c.",
    DefaultValueFactory = _ => "rescale",
};
var layout = new Option<InputLayout>("--layout")
{
    Description = "Input layout: auto, nchw or nhwc.",
    DefaultValueFactory = _ => InputLayout.Auto,
};
var targetLayer = new Option<string?>("--target-layer")
{
    Description = "Node or tensor whose feature map Grad-CAM explains (default: the last one before the spatial collapse).",
};
var importOutput = new Option<string>("--out") { Description = "Model package folder to write, e.g. models/my-model.", Required = true };
var import = new Command("import",
    "Import an ONNX image classifier exported by another tool, adding the Grad-CAM graph, as a servable model package.")
{
    onnx, labels, inputSize, normalisation, layout, targetLayer, importOutput,
};
import.SetAction(parse => Run(() =>
{
    var size = parse.GetValue(inputSize)!.Split(',', StringSplitOptions.TrimEntries);
    if (size.Length != 2 || !int.TryParse(size[0], out int height) || !int.TryParse(size[1], out int width) || height <= 0 || width <= 0)
    {
        throw new CliException($"--input-size must be height,width, not '{parse.GetValue(inputSize)}'.");
    }
    var manifest = ModelImporter.Import(new ImportOptions(parse.GetValue(onnx)!,
        parse.GetValue(labels)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
        height, width, ImportOptions.ParseNormalization(parse.GetValue(normalisation)!), parse.GetValue(layout),
        parse.GetValue(targetLayer), parse.GetValue(importOutput)!));
    Console.WriteLine($"imported '{manifest.Name}': {manifest.Labels.Count} classes, Grad-CAM at '{manifest.GradCam.Layer}' " +
                      $"({manifest.GradCam.Channels}x{manifest.GradCam.Height}x{manifest.GradCam.Width}); " +
                      $"package in {parse.GetValue(importOutput)}");
    using var check = ModelLoader.Load(parse.GetValue(importOutput)!);
    check.WarmUp(1);
    return 0;
}));

var trainingData = new Option<string>("--data")
{
    Description = "The data the model was trained on (its manifest's split is rebuilt from it).",
    Required = true,
};
var externalData = new Option<string>("--external")
{
    Description = "A labelled folder from other sources, to measure how much of it is accepted.",
    Required = true,
};
var oodOutput = new Option<string?>("--out") { Description = "Report folder (default: reports/ood/<model>)." };
var acceptance = new Option<double>("--acceptance")
{
    Description = "Share of the held-out images the threshold accepts.",
    DefaultValueFactory = _ => FitOutOfDistributionCommand.DefaultAcceptance,
};
var annotations = new Option<string[]>("--annotations")
{
    Description = "CSVs of images known by SHA-256, with a 'modality' column (CT slices form their own groups) or a 'plane' column " +
        "(acceptance per plane); repeat the option.",
};
var fitOod = new Command("fit-ood",
    "Fit a model's out-of-distribution guard on its training split, set its threshold on its held-out split, and measure it.")
{
    model, trainingData, externalData, oodOutput, acceptance, annotations,
};
fitOod.SetAction(parse => Run(() => FitOutOfDistributionCommand.Run(parse.GetValue(model)!, parse.GetValue(trainingData)!,
    parse.GetValue(externalData)!, parse.GetValue(oodOutput), Console.Out, parse.GetValue(acceptance), parse.GetValue(annotations))));

var newTargetLayer = new Option<string?>("--target-layer")
{
    Description = "Move the Grad-CAM to this node or tensor (a finer stage, say) instead; the classification stays, measured maps and " +
        "the out-of-distribution guard are dropped.",
};
var upgradeOutput = new Option<string?>("--out")
{
    Description = "With --target-layer: the package folder to write (default: the package itself).",
};
var upgrade = new Command("upgrade",
    "Add to a package written before them the outputs newer features read (features for the out-of-distribution guard; the Grad-CAM " +
    "gradient and activation for other map methods).")
{
    model, newTargetLayer, upgradeOutput,
};
upgrade.SetAction(parse => Run(() =>
{
    string package = parse.GetValue(model)!;
    if (parse.GetValue(newTargetLayer) is not string layer)
    {
        return parse.GetValue(upgradeOutput) is null
            ? PackageUpgrade.Run(package, Console.Out)
            : throw new CliException("--out needs --target-layer.");
    }
    return PackageUpgrade.Retarget(package, layer, parse.GetValue(upgradeOutput) ?? ModelLoader.PackageFolder(package), Console.Out);
}));

var reports = new Argument<string[]>("reports")
{
    Description = "Folders of cv runs (each with report.json).",
    Arity = ArgumentArity.OneOrMore,
};
var tableTitle = new Option<string>("--title")
{
    Description = "Heading of the table.",
    DefaultValueFactory = _ => "5-fold cross-validation",
};
var tableOutput = new Option<string?>("--out")
{
    Description = "Folder to write report.md and comparison.png to (default: print the table).",
};
var paperTable = new Option<PaperTable>("--paper")
{
    Description = "The paper's rows to list: both, ablation (Table 1), comparison (Table 2) or none.",
    DefaultValueFactory = _ => PaperTable.Both,
};
var compare = new Command("compare", "Put several cross-validation reports in one table beside the paper's Tables 1 and 2.")
{
    reports, tableTitle, tableOutput, paperTable,
};
compare.SetAction(parse => Run(() =>
{
    if (parse.GetValue(tableOutput) is string folder)
    {
        CrossValidationComparison.Save(parse.GetValue(reports)!, parse.GetValue(tableTitle)!, parse.GetValue(paperTable), folder);
    }
    else
    {
        Console.Write(CrossValidationComparison.Markdown(parse.GetValue(reports)!, parse.GetValue(tableTitle)!,
            parse.GetValue(paperTable)));
    }
    return 0;
}));

var shiftModels = new Option<string[]>("--model")
{
    Description = "Models to compare, as package folders or names under models/ (repeat the option).",
    Arity = ArgumentArity.OneOrMore,
    Required = true,
};
var shiftOutput = new Option<string>("--out")
{
    Description = "Report folder.",
    DefaultValueFactory = _ => Path.Combine("reports", "shift"),
};
var recordShift = new Option<bool>("--record")
{
    Description = "Record each model's mean, clean and worst accuracy in its model.json (shift), where GET /models shows it.",
};
var shift = new Command("shift",
    "Score models on their held-out Training images under fixed, seeded corruptions (brightness, contrast, gamma, blur, noise, JPEG, " +
    "resolution).")
{
    shiftModels, data, shiftOutput, recordShift,
};
shift.SetAction(parse => Run(() => ShiftBenchmark.Run(parse.GetValue(shiftModels)!, parse.GetValue(data)!, parse.GetValue(shiftOutput)!,
    Console.Out, parse.GetValue(recordShift))));

var cvReport = new Argument<string>("report")
{
    Description = "The cv run's report folder (with report.json), e.g. reports/cv-lite-cnn-default.",
};
var recordCv = new Command("record-cv",
    "Record a cross-validation run of the package's recipe in its model.json, where GET /models and the viewer page show it.")
{
    model, cvReport,
};
recordCv.SetAction(parse => Run(() => RecordCrossValidationCommand.Run(parse.GetValue(model)!, parse.GetValue(cvReport)!, Console.Out)));

var members = new Option<string[]>("--member")
{
    Description = "A member package (folder or name under models/); repeat the option, at least twice.",
    Arity = ArgumentArity.OneOrMore,
    Required = true,
};
var ensembleName = new Option<string>("--name") { Description = "The ensemble package's model name.", Required = true };
var ensembleOutput = new Option<string>("--out")
{
    Description = "Model package folder to write, e.g. models/lite-cnn-ensemble.",
    Required = true,
};
var ensemble = new Command("ensemble",
    "Join packages trained on the same data, split and input into one package that answers with the mean of their calibrated " +
    "probabilities; scored on their shared hold-out.")
{
    members, ensembleName, ensembleOutput, trainingData,
};
ensemble.SetAction(parse => Run(() => EnsembleCommand.Join(parse.GetValue(members)!, parse.GetValue(ensembleName)!,
    parse.GetValue(ensembleOutput)!, parse.GetValue(trainingData)!, Console.Out)));

var memberReports = new Argument<string[]>("reports")
{
    Description = "The members' cv report folders, in the ensemble's member order.",
    Arity = ArgumentArity.OneOrMore,
};
var ensembleCvOutput = new Option<string>("--out") { Description = "Report folder for the ensemble's cross-validation.", Required = true };
var ensembleCv = new Command("ensemble-cv",
    "Cross-validate an ensemble recipe from its members' cv runs: each fold's calibrated test probabilities averaged.")
{
    memberReports, ensembleCvOutput,
};
ensembleCv.SetAction(parse => Run(() =>
    EnsembleCommand.CrossValidate(parse.GetValue(memberReports)!, parse.GetValue(ensembleCvOutput)!, Console.Out)));

var decodeCheck = new Command("decode-check",
    "Compare a model's answers and Grad-CAM maps on its held-out images decoded at full size and at the reduced JPEG scale the server " +
    "uses, and time both decodes.")
{
    model, trainingData,
};
decodeCheck.SetAction(parse => Run(() => ScaledDecodeCheck.Run(parse.GetValue(model)!, parse.GetValue(trainingData)!, Console.Out)));

var calibrationMethod = new Option<CalibrationMethod>("--calibration")
{
    Description = "How activation ranges are chosen: minmax (measured closer to the float model) or percentile.",
    DefaultValueFactory = _ => CalibrationMethod.MinMax,
};
var percentile = new Option<double>("--percentile")
{
    Description = "With --calibration percentile: the upper percentile kept (the mirror one is the lower).",
    DefaultValueFactory = _ => 99.99,
};
var calibrationImages = new Option<int>("--images")
{
    Description = "Training-split images to calibrate on.",
    DefaultValueFactory = _ => 256,
};
var quantizeOutput = new Option<string>("--out")
{
    Description = "Package folder to write, e.g. models/lite-cnn-int8; its name is the package's.",
    Required = true,
};
var quantize = new Command("quantize",
    "Write an 8-bit (QDQ) copy of a trained package, calibrated on its training split and compared with it on its held-out split.")
{
    model, trainingData, quantizeOutput, calibrationMethod, percentile, calibrationImages,
};
quantize.SetAction(parse => Run(() => QuantizeCommand.Run(parse.GetValue(model)!, parse.GetValue(trainingData)!,
    parse.GetValue(quantizeOutput)!, parse.GetValue(calibrationMethod), parse.GetValue(percentile), parse.GetValue(calibrationImages),
    Console.Out)));

var root = new RootCommand("BrainTumor command line: evaluate, use and import models with ONNX Runtime.")
{
    evaluate, predict, import, compare, shift, recordCv, fitOod, upgrade, ensemble, ensembleCv, decodeCheck, quantize,
};
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
    catch (Exception ex) when (ex is CliException or DatasetException or ImportException or IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"error: {ex.Message}");
        return 1;
    }
}
