using System.Diagnostics;
using System.Runtime;
using BrainTumor.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BrainTumor.Inference;

/// <summary>Every model package under <see cref="InferenceOptions.ModelsDirectory"/>, loaded and validated once.</summary>
public sealed class ModelCatalog : IDisposable
{
    private readonly Dictionary<string, ClassifierModel> models;
    private readonly ILogger<ModelCatalog> logger;
    private readonly TaskCompletionSource warmedUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Held while a model warms up, so that disposing (say, when the port is busy and the host gives up) waits for the
    // background warm-up instead of freeing a session it is running: that crashed the process with a segfault.
    private readonly Lock warming = new();
    private bool disposed;

    /// <param name="environment">Its content root is one of the places a relative models folder is looked for.</param>
    public ModelCatalog(IOptions<InferenceOptions> options, ILogger<ModelCatalog> logger, IHostEnvironment? environment = null)
    {
        this.logger = logger;
        var settings = options.Value;
        string root = ResolveModelsDirectory(settings.ModelsDirectory, environment?.ContentRootPath, AppContext.BaseDirectory);
        if (!Directory.Exists(root))
        {
            throw new ModelPackageException($"{root}: the models folder does not exist (set Inference:ModelsDirectory).");
        }
        var directories = Directory.EnumerateDirectories(root)
            .Where(d => File.Exists(Path.Combine(d, ModelManifest.FileName)))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (directories.Count == 0)
        {
            throw new ModelPackageException(
                $"{root}: no model package (a folder with {ModelManifest.FileName} and {ModelManifest.OnnxFileName}) found.");
        }
        if (settings.Models.Length > 0)
        {
            var available = directories.Select(Path.GetFileName).ToList();
            var unknown = settings.Models.Where(name => !available.Contains(name)).ToList();
            if (unknown.Count > 0)
            {
                throw new ModelPackageException($"Inference:Models names {string.Join(", ", unknown.Select(n => $"'{n}'"))}, " +
                                                $"not a package folder in {root} ({string.Join(", ", available)}).");
            }
            directories = directories.Where(d => settings.Models.Contains(Path.GetFileName(d))).ToList();
        }

        models = new Dictionary<string, ClassifierModel>(StringComparer.Ordinal);
        try
        {
            foreach (var directory in directories)
            {
                long started = Stopwatch.GetTimestamp();
                var model = ClassifierModel.Load(directory, settings, logger);
                if (!models.TryAdd(model.Name, model))
                {
                    model.Dispose();
                    throw new ModelPackageException($"{Path.Combine(directory, ModelManifest.FileName)}: the name '{model.Name}' " +
                                                    $"is already used by {models[model.Name].Directory}.");
                }
                logger.LogInformation("Loaded model {Model} {Version} ({Architecture}) from {Directory} in {Milliseconds:0} ms",
                    model.Name, model.Manifest.Version, model.Manifest.Architecture, directory,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        // Loading parsed each graph and serialised its parts, as large as the models; hand that memory back to the OS now.
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

        string defaultName = settings.DefaultModel ?? models.Keys.Order(StringComparer.Ordinal).First();
        Default = models.TryGetValue(defaultName, out var chosen)
            ? chosen
            : throw new ModelPackageException($"Inference:DefaultModel names '{defaultName}', which is not among the loaded models " +
                                              $"({string.Join(", ", models.Keys)}).");
    }

    public ClassifierModel Default { get; }

    /// <summary>
    /// An absolute folder as given; a relative one under the working directory, or else under the nearest
    /// of the given folders' ancestors that has it, so that the server finds the repository's <c>models</c>
    /// whether it is started from the repository, by <c>dotnet run</c> in the project folder, or from its build output.
    /// </summary>
    public static string ResolveModelsDirectory(string configured, params string?[] searchFrom)
    {
        string fromWorkingDirectory = Path.GetFullPath(configured);
        if (Path.IsPathRooted(configured) || Directory.Exists(fromWorkingDirectory))
        {
            return fromWorkingDirectory;
        }
        foreach (var start in searchFrom.OfType<string>())
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                string candidate = Path.Combine(directory.FullName, configured);
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        return fromWorkingDirectory;
    }

    public IEnumerable<ClassifierModel> All => models.Values.OrderBy(m => m.Name, StringComparer.Ordinal);

    /// <summary>True once every model has been warmed up.</summary>
    public bool IsReady => warmedUp.Task.IsCompleted;

    /// <summary>Completes once every model has been warmed up.</summary>
    public Task WhenReady => warmedUp.Task;

    public ClassifierModel? Find(string? name) => name is null ? Default : models.GetValueOrDefault(name);

    /// <summary>Runs every model <paramref name="runs"/> times; stops between runs when the host shuts down.</summary>
    public void WarmUp(int runs, CancellationToken cancellation = default)
    {
        foreach (var model in All)
        {
            long started = Stopwatch.GetTimestamp();
            lock (warming)
            {
                if (disposed)
                {
                    return;
                }
                model.WarmUp(runs, cancellation);
            }
            if (cancellation.IsCancellationRequested)
            {
                return;
            }
            logger.LogInformation("Warmed up model {Model} with {Runs} runs in {Milliseconds:0} ms",
                model.Name, runs, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        warmedUp.TrySetResult();
    }

    public void Dispose()
    {
        lock (warming)
        {
            disposed = true;
            foreach (var model in models.Values)
            {
                model.Dispose();
            }
            models.Clear();
        }
    }
}
