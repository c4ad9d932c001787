namespace BrainTumor.LoadTests;

public enum Scenario
{
    Predict,
    GradCam,
    Mixed,
}

public sealed record LoadTestOptions
{
    /// <summary>A running server; null to start one from the repository.</summary>
    public Uri? Url { get; init; }
    public bool AllowRemote { get; init; }
    public Scenario Scenario { get; init; } = Scenario.Predict;
    public IReadOnlyList<int> Levels { get; init; } = [10, 50, 100];
    public int RequestsPerLevel { get; init; } = 500;
    public int WarmupRequests { get; init; } = 50;
    public int Passes { get; init; } = 1;
    public required string ImageFolder { get; init; }
    public required string ResultsFolder { get; init; }
    public required string RepositoryRoot { get; init; }
    public string? ModelsFolder { get; init; }
    public string? Model { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    public void Validate()
    {
        if (Levels.Count == 0 || Levels.Any(l => l <= 0))
        {
            throw new LoadTestException("--levels must be positive numbers of users, e.g. 10,50,100.");
        }
        if (RequestsPerLevel <= 0 || WarmupRequests < 0 || Passes <= 0)
        {
            throw new LoadTestException("--requests and --passes must be positive and --warmup not negative.");
        }
        if (Url is not null && !AllowRemote && !Url.IsLoopback)
        {
            throw new LoadTestException($"{Url} is not a loopback address; pass --allow-remote to load-test another machine.");
        }
        if (!Directory.Exists(ImageFolder))
        {
            throw new LoadTestException($"Image folder '{ImageFolder}' does not exist.");
        }
    }
}

/// <summary>A problem with the user's input, reported as one line.</summary>
public sealed class LoadTestException(string message) : Exception(message);
