using BrainTumor.Api.Endpoints;
using BrainTumor.Api.Infrastructure;
using BrainTumor.Inference;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Formatting.Compact;

// appsettings.json sits beside the binaries, wherever the server is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

builder.Services.AddSerilog((services, logger) =>
{
    logger.ReadFrom.Configuration(builder.Configuration).Enrich.FromLogContext().Enrich.With<ControlCharacterEscaper>();
    if (builder.Configuration[$"{ServerLoggingOptions.Section}:Format"] == "json")
    {
        logger.WriteTo.Console(new RenderedCompactJsonFormatter());
    }
    else
    {
        logger.WriteTo.Console();
    }
});
builder.Services.AddBrainTumorInference();
builder.Services.AddBrainTumorApi();

var app = builder.Build();

// The request log sits outside the exception handler, so it records the status the caller got and no second stack trace.
app.UseSerilogRequestLogging(options =>
    options.MessageTemplate =
        "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0} ms (model {Model}, label {Label})");
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestLogDefaults();
app.UseCors(ServerServiceCollectionExtensions.CorsPolicy);
app.UseViewerPage();
app.UseApiKey();
app.UseSwagger();
app.UseSwaggerUI(ui => ui.DocumentTitle = "BrainTumor API");

app.MapPredictionEndpoints();
app.MapGradCamEndpoints();
app.MapDicomWebEndpoints();
app.MapModelEndpoints();
app.MapHealthEndpoints();
app.LogWhenReady();

try
{
    app.Run();
    return 0;
}
catch (ModelPackageException problem)
{
    Console.Error.WriteLine($"error: cannot serve the models: {problem.Message}");
    return 1;
}
catch (OptionsValidationException problem)
{
    Console.Error.WriteLine($"error: invalid configuration: {string.Join(" ", problem.Failures)}");
    return 1;
}
catch (IOException problem) when (problem.InnerException is AddressInUseException)
{
    Console.Error.WriteLine($"error: {problem.Message} Choose another port with --urls http://localhost:<port>.");
    return 1;
}

/// <summary>The entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
