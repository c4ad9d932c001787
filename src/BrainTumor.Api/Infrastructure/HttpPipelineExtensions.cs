using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace BrainTumor.Api.Infrastructure;

public static class HttpPipelineExtensions
{
    /// <summary>
    /// Logs one line once Kestrel listens and every model is warm (the warm-up runs in the background), so that a
    /// person starting the server knows when and where to send requests.
    /// </summary>
    public static WebApplication LogWhenReady(this WebApplication app)
    {
        var catalog = app.Services.GetRequiredService<BrainTumor.Inference.ModelCatalog>();
        app.Lifetime.ApplicationStarted.Register(() => catalog.WhenReady.ContinueWith(_ =>
            app.Logger.LogInformation("BrainTumor ready at {Urls} (the viewer at /, Swagger UI at /swagger)", string.Join(", ", app.Urls)),
            TaskContinuationOptions.OnlyOnRanToCompletion));
        return app;
    }

    /// <summary>
    /// The viewer page (wwwroot) at <c>/</c>. Its files need no API key (the page asks for one), and its Content-Security-Policy
    /// lets it talk to this server only: no CDN, no external fonts, nothing sent elsewhere.
    /// </summary>
    public static IApplicationBuilder UseViewerPage(this IApplicationBuilder app)
    {
        app.UseDefaultFiles();
        return app.UseStaticFiles(new StaticFileOptions
        {
            OnPrepareResponse = file =>
            {
                file.Context.Response.Headers.ContentSecurityPolicy = ViewerContentSecurityPolicy;
                file.Context.Response.Headers.XContentTypeOptions = "nosniff";
            },
        });
    }

    public const string ViewerContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; form-action 'none'; " +
        "frame-ancestors 'none'; base-uri 'none'";

    /// <summary>Gives the request log line's model and label a value for requests that never reach a model.</summary>
    public static IApplicationBuilder UseRequestLogDefaults(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var diagnostics = context.RequestServices.GetRequiredService<Serilog.IDiagnosticContext>();
        diagnostics.Set("Model", "-");
        diagnostics.Set("Label", "-");
        return next(context);
    });

    /// <summary>
    /// When an API key is configured, requires it in <c>X-API-Key</c> on every call except health checks,
    /// metrics and the Swagger UI (compared in constant time).
    /// </summary>
    public static IApplicationBuilder UseApiKey(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<IOptions<SecurityOptions>>().Value;
        if (string.IsNullOrEmpty(options.ApiKey))
        {
            return app;
        }
        byte[] expected = Encoding.UTF8.GetBytes(options.ApiKey);
        return app.Use(async (context, next) =>
        {
            bool open = SecurityOptions.IsOpen(context.Request.Path);
            string? given = context.Request.Headers[SecurityOptions.ApiKeyHeader];
            if (open || (given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expected)))
            {
                await next(context);
                return;
            }
            context.Response.Headers.WWWAuthenticate = $"ApiKey header=\"{SecurityOptions.ApiKeyHeader}\"";
            await Problems.Create(StatusCodes.Status401Unauthorized, "Missing or wrong API key",
                $"Send the server's API key in the {SecurityOptions.ApiKeyHeader} header.").ExecuteAsync(context);
        });
    }
}
