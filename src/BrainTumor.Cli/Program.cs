using System.CommandLine;
using BrainTumor.Cli;

var root = new RootCommand("BrainTumor command line: evaluate, use and import models with ONNX Runtime.")
{
    EvaluateCommand.Definition(),
    PredictCommand.Definition(),
    ImportCommand.Definition(),
    CompareCommand.Definition(),
    ShiftCommand.Definition(),
    RecordCrossValidationCommand.Definition(),
    FitOutOfDistributionCommand.Definition(),
    PackageUpgrade.Definition(),
    EnsembleCommand.Definition(),
    EnsembleCrossValidationCommand.Definition(),
    DecodeCheckCommand.Definition(),
    QuantizeCommand.Definition(),
};
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    Console.Error.WriteLine($"error: {parsed.Errors[0].Message} (see --help)");
    return 2;
}
return await parsed.InvokeAsync();
