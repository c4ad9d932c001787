using System.CommandLine;
using BrainTumor.Evaluation;

namespace BrainTumor.Cli;

/// <summary><c>braintumor compare</c>: cross-validation reports side by side (<see cref="CrossValidationComparison"/>).</summary>
public static class CompareCommand
{
    public static Command Definition()
    {
        var reports = new Argument<string[]>("reports")
        {
            Description = "Folders of cv runs (each with report.json).", Arity = ArgumentArity.OneOrMore,
        };
        var title = new Option<string>("--title")
        {
            Description = "Heading of the table.", DefaultValueFactory = _ => "5-fold cross-validation",
        };
        var output = new Option<string?>("--out")
        {
            Description = "Folder to write report.md and comparison.png to (default: print the table).",
        };
        var paper = new Option<PaperTable>("--paper")
        {
            Description = "The paper's rows to list: both, ablation (Table 1), comparison (Table 2) or none.",
            DefaultValueFactory = _ => PaperTable.Both,
        };
        var compare = new Command("compare", "Put several cross-validation reports in one table beside the paper's Tables 1 and 2.")
        {
            reports, title, output, paper,
        };
        compare.SetAction(parse => Commands.Run(() =>
        {
            if (parse.GetValue(output) is string folder)
            {
                CrossValidationComparison.Save(parse.GetValue(reports)!, parse.GetValue(title)!, parse.GetValue(paper), folder);
            }
            else
            {
                Console.Write(CrossValidationComparison.Markdown(parse.GetValue(reports)!, parse.GetValue(title)!, parse.GetValue(paper)));
            }
            return 0;
        }));
        return compare;
    }
}
