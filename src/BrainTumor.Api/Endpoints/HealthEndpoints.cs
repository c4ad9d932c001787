using BrainTumor.Api.Infrastructure;
using BrainTumor.Inference;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BrainTumor.Api.Endpoints;

public sealed record HealthStatus(string Status);

public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/health").WithTags("Operations");
        group.MapGet("/live", Live).WithName("Live").WithSummary("The process is up");
        group.MapGet("/ready", Ready).WithName("Ready").WithSummary("Every model is loaded and warmed up");
        app.MapGet("/metrics", Metrics).WithTags("Operations").WithName("Metrics")
            .WithSummary("Prometheus metrics: requests, latency histograms, queue length, rejections, inference time")
            .Produces<string>(StatusCodes.Status200OK, "text/plain");
        return app;
    }

    public static Ok<HealthStatus> Live() => TypedResults.Ok(new HealthStatus("live"));

    public static Results<Ok<HealthStatus>, ProblemHttpResult> Ready(ModelCatalog catalog) =>
        catalog.IsReady
            ? TypedResults.Ok(new HealthStatus("ready"))
            : Problems.Create(StatusCodes.Status503ServiceUnavailable, "Not ready", "The models are still warming up.");

    public static ContentHttpResult Metrics(ServerMetrics metrics) =>
        TypedResults.Text(metrics.Render(), "text/plain; version=0.0.4");
}
