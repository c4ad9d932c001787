namespace BrainTumor.Training;

/// <summary>Runs a command so that expected failures end as one line on stderr and a non-zero exit code.</summary>
public static class Cli
{
    public static Task<int> Run(Action command)
    {
        try
        {
            command();
            return Task.FromResult(0);
        }
        catch (Exception ex) when (ex is TrainingException or BrainTumor.Data.DatasetException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return Task.FromResult(1);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted: the last finished epoch is in the checkpoint; continue with --resume");
            return Task.FromResult(130);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException)
        {
            Console.Error.WriteLine($"error: {ex.GetType().Name}: {ex.Message}");
            return Task.FromResult(1);
        }
    }
}
