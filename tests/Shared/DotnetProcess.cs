using System.Diagnostics;

namespace BrainTumor.Tests;

/// <summary>Runs <c>dotnet</c> with arguments as a user would, capturing its exit code and output.</summary>
public static class DotnetProcess
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static async Task<Result> RunAsync(string? workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new Result(process.ExitCode, await output, await error);
    }

    /// <summary>Runs a program built next to the test assembly (a referenced executable project).</summary>
    public static Task<Result> RunBuiltAsync(string assembly, params string[] arguments) =>
        RunAsync(null, [Path.Combine(AppContext.BaseDirectory, assembly), .. arguments]);
}
