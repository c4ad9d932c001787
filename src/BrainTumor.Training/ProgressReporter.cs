using System.Diagnostics;

namespace BrainTumor.Training;

/// <summary>
/// Shows epoch, batch, running loss and accuracy, and the epoch's ETA: rewritten in place on a terminal,
/// one line every few seconds when the output goes to a file.
/// </summary>
public sealed class ProgressReporter(TextWriter output, bool interactive)
{
    private static readonly TimeSpan FileInterval = TimeSpan.FromSeconds(30);
    private readonly Stopwatch sinceLastLine = Stopwatch.StartNew();

    public static ProgressReporter ForConsole() => new(Console.Out, !Console.IsOutputRedirected);

    public void Batch(int epoch, int epochs, int batch, int batches, double loss, double accuracy, TimeSpan elapsed)
    {
        bool last = batch == batches;
        if (!interactive && !last && sinceLastLine.Elapsed < FileInterval)
        {
            return;
        }
        sinceLastLine.Restart();
        var eta = TimeSpan.FromSeconds(elapsed.TotalSeconds / batch * (batches - batch));
        string line = $"epoch {epoch}/{epochs}  batch {batch}/{batches}  loss {loss:F4}  acc {accuracy:F3}  " +
                      $"elapsed {elapsed:mm\\:ss}  eta {eta:mm\\:ss}";
        if (interactive)
        {
            output.Write($"\r{line}   ");
            if (last)
            {
                output.WriteLine();
            }
        }
        else
        {
            output.WriteLine(line);
        }
    }

    public void Line(string message) => output.WriteLine(message);
}
