using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace BrainTumor.Inference;

public static class InferenceServiceCollectionExtensions
{
    /// <summary>
    /// The serving engine: options from the <c>Inference</c> section (validated at start), the model catalog
    /// (one ONNX Runtime session per model, loaded and warmed up before the host starts), and admission control.
    /// </summary>
    public static IServiceCollection AddBrainTumorInference(this IServiceCollection services)
    {
        services.AddOptions<InferenceOptions>()
            .BindConfiguration(InferenceOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<InferenceOptions>>().Value;
            return new AdmissionQueue(options.EffectiveConcurrency, options.MaxQueueLength);
        });
        services.AddHostedService<ModelWarmupService>();
        return services;
    }
}

/// <summary>
/// Loads every model as the host starts (a bad package stops the start), then warms them up in the background
/// while the server already listens, so that <c>/health/ready</c> can truthfully answer 503 until they are warm.
/// </summary>
internal sealed class ModelWarmupService(ModelCatalog catalog, IOptions<InferenceOptions> options) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Run(() => catalog.WarmUp(options.Value.WarmupRuns, stoppingToken), stoppingToken);
}
