using System.CommandLine;
using BrainTumor.LoadTests;

var url = new Option<string?>("--url")
{
    Description = "A running server; without it the server is started from this repository on a free loopback port.",
};
var allowRemote = new Option<bool>("--allow-remote") { Description = "Allow a --url that is not a loopback address." };
var scenario = new Option<Scenario>("--scenario")
{
    Description = "predict, gradcam or mixed.", DefaultValueFactory = _ => Scenario.Predict,
};
var levels = new Option<string>("--levels")
{
    Description = "Concurrent users per level, comma-separated.", DefaultValueFactory = _ => "10,50,100",
};
var requests = new Option<int>("--requests") { Description = "Requests per level.", DefaultValueFactory = _ => 500 };
var warmup = new Option<int>("--warmup")
{
    Description = "Requests sent first (by up to 10 concurrent users) and not counted.", DefaultValueFactory = _ => 50,
};
var passes = new Option<int>("--passes")
{
    Description = "Times to run all levels (a second pass shows whether memory grows).", DefaultValueFactory = _ => 1,
};
var images = new Option<string?>("--images")
{
    Description = "Folder of images (one sub-folder per class); default: the shared Training split.",
};
var output = new Option<string?>("--out") { Description = "Results folder (default: loadtests/results)." };
var model = new Option<string?>("--model") { Description = "Model to ask for (default: the server's default)." };
var timeout = new Option<int>("--timeout") { Description = "Seconds before a request counts as timed out.", DefaultValueFactory = _ => 60 };

var root = new RootCommand("Stress test of the BrainTumor server, as the paper's Table 5: closed-loop users at several concurrency levels.")
{
    url, allowRemote, scenario, levels, requests, warmup, passes, images, output, model, timeout,
};
root.SetAction((parse, cancellation) => ReportingErrors(async () =>
{
    string repository = Repository.FindRoot();
    var options = new LoadTestOptions
    {
        Url = ParseUrl(parse.GetValue(url)),
        AllowRemote = parse.GetValue(allowRemote),
        Scenario = parse.GetValue(scenario),
        Levels = ParseLevels(parse.GetValue(levels)!),
        RequestsPerLevel = parse.GetValue(requests),
        WarmupRequests = parse.GetValue(warmup),
        Passes = parse.GetValue(passes),
        ImageFolder = parse.GetValue(images) ?? DefaultImages(repository),
        ResultsFolder = parse.GetValue(output) ?? Path.Combine(repository, "loadtests", "results"),
        RepositoryRoot = repository,
        Model = parse.GetValue(model),
        Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
    };
    var report = await LoadTest.RunAsync(options, Console.Out);
    Console.WriteLine();
    Console.WriteLine(report.Markdown());
    return 0;
}));

var ceilingModels = new Option<string[]>("--model")
{
    Description = "Package names under models/ (repeat the option).", Arity = ArgumentArity.OneOrMore, Required = true,
};
var seconds = new Option<double>("--seconds")
{
    Description = "Seconds each in-process rate is measured for.", DefaultValueFactory = _ => 5,
};
var serverRequests = new Option<int>("--requests")
{
    Description = "Requests per model and endpoint at 10 clients.", DefaultValueFactory = _ => 1000,
};
var ceiling = new Command("ceiling",
    "Run alone, decode alone and decode + pipeline + Run per model (the ceiling), beside the server's throughput at 10 clients.")
{
    ceilingModels, seconds, serverRequests, images, output,
};
ceiling.SetAction((parse, cancellation) => ReportingErrors(async () =>
{
    string repository = Repository.FindRoot();
    if (parse.GetValue(seconds) <= 0 || parse.GetValue(serverRequests) < 1)
    {
        throw new LoadTestException("--seconds and --requests must be positive.");
    }
    var report = await Ceiling.RunAsync(parse.GetValue(ceilingModels)!,
        parse.GetValue(images) ?? DefaultImages(repository),
        repository, parse.GetValue(output) ?? Path.Combine(repository, "loadtests", "results"), parse.GetValue(seconds),
        parse.GetValue(serverRequests), Console.Out);
    Console.WriteLine(report.Markdown());
    return 0;
}));
root.Subcommands.Add(ceiling);

var stagesModel = new Option<string>("--model") { Description = "Package name under models/.", DefaultValueFactory = _ => "lite-cnn" };
var rounds = new Option<int>("--rounds")
{
    Description = "Times every image goes through the stages (after one round not counted).", DefaultValueFactory = _ => 5,
};
var stages = new Command("stages", "Time each step of a /predict and a /gradcam request in process, on one core.")
{
    stagesModel, rounds, images, output,
};
stages.SetAction((parse, cancellation) => ReportingErrors(() =>
{
    string repository = Repository.FindRoot();
    if (parse.GetValue(rounds) < 1)
    {
        throw new LoadTestException("--rounds must be positive.");
    }
    if (!Directory.Exists(Path.Combine(repository, "models", parse.GetValue(stagesModel)!)))
    {
        throw new LoadTestException($"No model package '{parse.GetValue(stagesModel)}' under models/.");
    }
    var report = Stages.Run(parse.GetValue(stagesModel)!, parse.GetValue(images) ?? DefaultImages(repository), repository,
        parse.GetValue(output) ?? Path.Combine(repository, "loadtests", "results"), parse.GetValue(rounds), Console.Out);
    Console.WriteLine(report.Markdown());
    return Task.FromResult(0);
}));
root.Subcommands.Add(stages);

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    Console.Error.WriteLine($"error: {parsed.Errors[0].Message} (see --help)");
    return 2;
}
return await parsed.InvokeAsync();

static Uri? ParseUrl(string? text) =>
    text is null ? null
    : Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri
    : throw new LoadTestException($"--url: '{text}' is not an absolute http:// or https:// address.");

static IReadOnlyList<int> ParseLevels(string text) =>
    text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(part => int.TryParse(part, out int users) ? users
            : throw new LoadTestException($"--levels: '{part}' is not a number of users."))
        .ToList();

static string DefaultImages(string repository) =>
    Path.GetFullPath(Path.Combine(repository, "..", "shared", "datasets", "brain-tumor-mri", "Training"));

/// <summary>Runs a command; a problem with the user's input becomes one line on stderr and exit code 1.</summary>
static async Task<int> ReportingErrors(Func<Task<int>> run)
{
    try
    {
        return await run();
    }
    catch (LoadTestException ex)
    {
        Console.Error.WriteLine($"error: {ex.Message}");
        return 1;
    }
}
