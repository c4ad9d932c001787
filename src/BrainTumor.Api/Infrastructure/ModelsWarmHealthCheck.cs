using BrainTumor.Inference;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BrainTumor.Api.Infrastructure;

/// <summary>Ready once every model is loaded and warmed up; the warm-up runs after the server starts listening.</summary>
internal sealed class ModelsWarmHealthCheck(ModelCatalog catalog) : IHealthCheck
{
    /// <summary>Checks with this tag decide <c>/health/ready</c>.</summary>
    public const string ReadyTag = "ready";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(catalog.IsReady
            ? HealthCheckResult.Healthy("Every model is warmed up.")
            : HealthCheckResult.Unhealthy("The models are still warming up."));
}
