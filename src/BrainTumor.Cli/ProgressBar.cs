using BrainTumor.Evaluation;

namespace BrainTumor.Cli;

/// <summary>A one-line progress bar on stderr, drawn only when stderr is a terminal.</summary>
public sealed class ProgressBar(int total, string what)
{
    /// <summary>A bar for an evaluation's loop (<see cref="ProgressStart"/>).</summary>
    public static Action<int> Start(int total, string what) => new ProgressBar(total, what).Report;

    private readonly bool visible = !Console.IsErrorRedirected && total > 1;
    private int lastDrawn = -1;

    public void Report(int done)
    {
        if (!visible)
        {
            return;
        }
        int width = 30;
        int filled = total == 0 ? width : done * width / total;
        if (filled == lastDrawn && done != total)
        {
            return;
        }
        lastDrawn = filled;
        Console.Error.Write($"\r{what} [{new string('#', filled)}{new string('.', width - filled)}] {done}/{total}");
        if (done == total)
        {
            Console.Error.WriteLine();
        }
    }
}
