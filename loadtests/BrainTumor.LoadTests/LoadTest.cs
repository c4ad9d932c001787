namespace BrainTumor.LoadTests;

/// <summary>One complete run: start (or reach) the server, warm up, run every level for every pass, save the report.</summary>
public static class LoadTest
{
    public static async Task<LoadTestReport> RunAsync(LoadTestOptions options, TextWriter log)
    {
        options.Validate();
        var images = RequestImages.Load(options.ImageFolder);
        await using var server = options.Url is null
            ? await ServerProcess.StartAsync(options.RepositoryRoot,
                options.ModelsFolder ?? Path.Combine(options.RepositoryRoot, "models"), log)
            : null;
        var target = options.Url ?? server!.Url;
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        };
        using var client = new HttpClient(handler) { BaseAddress = target, Timeout = options.Timeout };
        var runner = new LoadRunner(client, images, options.Scenario, options.Model);
        var started = DateTimeOffset.UtcNow;

        try
        {
            await runner.WarmUpAsync(options.WarmupRequests, Math.Min(options.Levels[0], 10));
        }
        catch (HttpRequestException ex)
        {
            throw new LoadTestException($"{target} does not answer: {ex.Message}");
        }
        var results = new List<LevelResult>();
        for (int pass = 1; pass <= options.Passes; pass++)
        {
            foreach (int users in options.Levels)
            {
                var result = await runner.RunLevelAsync(pass, users, options.RequestsPerLevel, server);
                log.WriteLine($"pass {pass}, {users} users: {result.Throughput:F1} req/s, mean {result.MeanMs:F0} ms, " +
                              $"p99 {result.P99Ms:F0} ms, failures {result.FailurePercent}%" +
                              $"{(result.ServerPeakRssMb is double rss ? $", server RSS peak {rss:F0} MB" : "")}");
                results.Add(result);
            }
        }

        var report = new LoadTestReport(started, options.Scenario.ToString().ToLowerInvariant(),
            server is null ? target.ToString() : $"a server started by the tool ({target})",
            LoadTestReport.DescribeMachine(), images.Count, Math.Round(images.AverageBytes / 1024, 1), results);
        string stem = $"{report.Scenario}-{started:yyyyMMdd-HHmmss}";
        report.Save(options.ResultsFolder, stem);
        log.WriteLine($"results: {Path.Combine(options.ResultsFolder, stem)}.{{md,json,png}}");
        return report;
    }
}

public static class Repository
{
    public static string FindRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "BrainTumor.sln")))
                {
                    return directory.FullName;
                }
            }
        }
        throw new LoadTestException("Run this from inside the BrainTumor repository (no BrainTumor.sln found above here).");
    }
}
