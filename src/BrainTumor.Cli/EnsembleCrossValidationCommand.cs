using System.CommandLine;
using BrainTumor.Evaluation;

namespace BrainTumor.Cli;

/// <summary><c>braintumor ensemble-cv</c>: the cross-validation of an ensemble recipe from its members' cv runs.</summary>
public static class EnsembleCrossValidationCommand
{
    public static Command Definition()
    {
        var memberReports = new Argument<string[]>("reports")
        {
            Description = "The members' cv report folders, in the ensemble's member order.", Arity = ArgumentArity.OneOrMore,
        };
        var output = new Option<string>("--out") { Description = "Report folder for the ensemble's cross-validation.", Required = true };
        var ensembleCv = new Command("ensemble-cv",
            "Cross-validate an ensemble recipe from its members' cv runs: each fold's calibrated test probabilities averaged.")
        {
            memberReports, output,
        };
        ensembleCv.SetAction(parse => Commands.Run(() => Run(parse.GetValue(memberReports)!, parse.GetValue(output)!, Console.Out)));
        return ensembleCv;
    }

    public static CrossValidationReport Run(IReadOnlyList<string> memberReports, string outputFolder, TextWriter log)
    {
        if (memberReports.Count < 2)
        {
            throw new CliException("An ensemble's cross-validation needs the cv runs of at least two members.");
        }
        var report = Ensembles.CrossValidate(memberReports, outputFolder);
        log.WriteLine($"ensemble of {string.Join(", ", memberReports)}: {report.Folds.Count} of {report.Setup.Folds} folds, " +
                      $"accuracy {report.Summaries()["accuracy"]}; report: {Path.Combine(outputFolder, "report.md")}");
        return report;
    }
}
