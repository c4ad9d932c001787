using System.Reflection;
using BrainTumor.Inference;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Microsoft.OpenApi;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace BrainTumor.Api.Infrastructure;

public static class ServerServiceCollectionExtensions
{
    public const string CorsPolicy = "configured-origins";

    /// <summary>Everything the HTTP API needs beside the inference engine: options, upload handling, metrics, problems, CORS,
    /// Swagger.</summary>
    public static IServiceCollection AddBrainTumorApi(this IServiceCollection services)
    {
        services.AddOptions<ServerLimitsOptions>().BindConfiguration(ServerLimitsOptions.Section).ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.Section)
            .PostConfigure(security =>
            {
                if (string.IsNullOrEmpty(security.ApiKey) && security.ApiKeyFile is string file && File.Exists(file))
                {
                    security.ApiKey = File.ReadAllText(file).Trim();
                }
            })
            .Validate(security => security.ApiKeyFile is null || !string.IsNullOrEmpty(security.ApiKey),
                "Security:ApiKeyFile names a file that does not exist or is empty.")
            .ValidateOnStart();
        services.AddOptions<OutOfDistributionOptions>().BindConfiguration(OutOfDistributionOptions.Section).ValidateOnStart();
        services.AddOptions<ServerLoggingOptions>().BindConfiguration(ServerLoggingOptions.Section).ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<ImageUploads>();
        services.AddSingleton<UploadBudget>();
        services.AddSingleton<ServerMetrics>();
        // The platform's meters through OpenTelemetry rather than prometheus-net: ASP.NET Core, Kestrel and the runtime
        // already publish request, connection, CPU, memory and GC instruments, and this exports them unchanged (prometheus-net's
        // request metrics come from its own middleware instead). The exporter is a beta package; /metrics is tested below it.
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("braintumor"))
            .WithMetrics(metrics => metrics.AddMeter(ServerMetrics.ExportedMeters)
                // Scrapes see the requests answered just before them, not a copy up to 300 ms old.
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        services.AddSingleton<RequestAdmission>();
        services.AddScoped<ClassificationPipeline>();
        services.AddDicomWebResults();
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddHealthChecks().AddCheck<ModelsWarmHealthCheck>("models", tags: [ModelsWarmHealthCheck.ReadyTag]);
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ServerLimitsOptions>>((kestrel, limits) =>
            kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBytes);

        services.AddCors();
        services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>().Configure<IOptions<SecurityOptions>>((cors, security) =>
            cors.AddPolicy(CorsPolicy, policy =>
                policy.WithOrigins(security.Value.CorsOrigins).AllowAnyHeader().WithMethods("GET", "POST")));

        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "BrainTumor API",
                Version = "v1",
                Description = "Classifies axial brain MRI slices (glioma, meningioma, pituitary tumour, no tumour) " +
                              "and explains the answer with Grad-CAM. " +
                              "Errors are RFC 9457 problem+json.",
            });
            swagger.OperationFilter<ImageUploadOperationFilter>();
            swagger.OperationFilter<ApiKeyOperationFilter>();
            swagger.DocumentFilter<ApiDocumentFilter>();
            string xml = Path.Combine(AppContext.BaseDirectory, $"{Assembly.GetExecutingAssembly().GetName().Name}.xml");
            if (File.Exists(xml))
            {
                swagger.IncludeXmlComments(xml);
            }
        });
        return services;
    }

    /// <summary>STOW-RS in and results back: the options, the intake, the outbox and its HTTP client with retries and backoff.</summary>
    private static void AddDicomWebResults(this IServiceCollection services)
    {
        services.AddOptions<DicomWebOptions>().BindConfiguration(DicomWebOptions.Section).ValidateDataAnnotations()
            .Validate(dicomWeb => DicomWebOptions.IsValidUrl(dicomWeb.ResultsUrl),
                "DicomWeb:ResultsUrl must be an absolute http or https URL.")
            .ValidateOnStart();
        services.AddScoped<DicomWebIntake>();
        services.AddSingleton<DicomWebResults>();
        services.AddHostedService(provider => provider.GetRequiredService<DicomWebResults>());
        services.AddHttpClient(DicomWebResults.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .AddResilienceHandler(DicomWebResults.ClientName, (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<DicomWebOptions>>().Value;
                var metrics = context.ServiceProvider.GetRequiredService<ServerMetrics>();
                var logger = context.ServiceProvider.GetRequiredService<ILogger<DicomWebResults>>();
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.MaxRetryAttempts,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromSeconds(options.FirstRetryDelaySeconds),
                    MaxDelay = TimeSpan.FromMinutes(1),
                    OnRetry = retry =>
                    {
                        metrics.RecordStoreFailure();
                        string? study = null;
                        retry.Context.GetRequestMessage()?.Options.TryGetValue(DicomWebResults.StudyKey, out study);
                        logger.LogWarning("Storing results in study {StudyInstanceUid} failed ({Error}); retry {Attempt} in {Delay:0.0} s",
                            study ?? "-", retry.Outcome.Exception?.Message ?? $"HTTP {(int?)retry.Outcome.Result?.StatusCode}",
                            retry.AttemptNumber + 1,
                            retry.RetryDelay.TotalSeconds);
                        return ValueTask.CompletedTask;
                    },
                });
                pipeline.AddTimeout(TimeSpan.FromSeconds(options.AttemptTimeoutSeconds));
            });
    }
}
