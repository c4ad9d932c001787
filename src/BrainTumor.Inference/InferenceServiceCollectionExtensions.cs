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

/// <summary>Loads every model and runs its warm-up before the server takes requests; a bad package stops the start.</summary>
internal sealed class ModelWarmupService(ModelCatalog catalog, IOptions<InferenceOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        catalog.WarmUp(options.Value.WarmupRuns);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
