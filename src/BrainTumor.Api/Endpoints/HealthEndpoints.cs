using BrainTumor.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using CheckStatus = Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus;

namespace BrainTumor.Api.Endpoints;

public sealed record HealthStatus(string Status);

public static class HealthEndpoints
{
    public const string MetricsPath = "/metrics";

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/health").WithTags("Operations");
        group.MapGet("/live", Live).WithName("Live").WithSummary("The process is up");
        group.MapGet("/ready", Ready).WithName("Ready").WithSummary("Every model is loaded and warmed up");
        // Prometheus text from the OpenTelemetry exporter; ApiDocumentFilter describes it for the OpenAPI document.
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }

    public static Ok<HealthStatus> Live() => TypedResults.Ok(new HealthStatus("live"));

    // Runs the health checks tagged "ready" through the framework's health check service, so more can be added.
    public static async Task<Results<Ok<HealthStatus>, ProblemHttpResult>> Ready(HealthCheckService health, CancellationToken cancellation)
    {
        var report = await health.CheckHealthAsync(check => check.Tags.Contains(ModelsWarmHealthCheck.ReadyTag), cancellation);
        return report.Status == CheckStatus.Healthy
            ? TypedResults.Ok(new HealthStatus("ready"))
            : Problems.Create(StatusCodes.Status503ServiceUnavailable, "Not ready",
                string.Join(" ", report.Entries.Values.Where(e => e.Status != CheckStatus.Healthy).Select(e => e.Description)));
    }
}
