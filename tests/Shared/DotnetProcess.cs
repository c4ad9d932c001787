using System.Diagnostics;

namespace BrainTumor.Tests;

/// <summary>Runs <c>dotnet</c> (or another program) with arguments as a user would, capturing its exit code and output.</summary>
public static class DotnetProcess
{
    public sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>Long enough for a first build of the solution on 2 busy cores; a hung process fails the test instead of hanging
    /// it.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    public static Task<Result> RunAsync(string? workingDirectory, params string[] arguments) =>
        RunProgramAsync("dotnet", workingDirectory, null, arguments);

    /// <summary>Runs a program built next to the test assembly (a referenced executable project).</summary>
    public static Task<Result> RunBuiltAsync(string assembly, params string[] arguments) =>
        RunAsync(null, [Path.Combine(AppContext.BaseDirectory, assembly), .. arguments]);

    public static async Task<Result> RunProgramAsync(string program, string? workingDirectory,
        IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish within {DefaultTimeout}.");
        }
        return new Result(process.ExitCode, await output, await error);
    }
}
