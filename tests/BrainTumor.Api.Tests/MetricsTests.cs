using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BrainTumor.Inference;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace BrainTumor.Api.Tests;

/// <summary>
/// OpenTelemetry subscribes to meters by name, so a host's /metrics also sums the same-named instruments of every other host in
/// the test process. These tests assert exact counts, so they run in a collection of their own, after the parallel ones, while
/// no other test's host is serving.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMetricsCollection
{
    public const string Name = "Process-wide metrics";
}

/// <summary>/metrics tells the truth: real failures are counted with their status, and the queue and upload budget are exported.</summary>
[Collection(ProcessWideMetricsCollection.Name)]
public sealed class MetricsTests(BrainTumorApiFactory factory) : IClassFixture<BrainTumorApiFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task MetricsCountRequestsInPrometheusFormat()
    {
        await client.PostAsync("/predict", Uploads.Form(Uploads.PublicJpeg()));

        string metrics = await client.GetStringAsync("/metrics");

        Assert.True(PrometheusText.Sum(metrics, "http_server_request_duration_seconds_count", ("http_route", "/predict"),
            ("http_response_status_code", "200")) >= 1);
        Assert.True(PrometheusText.Sum(metrics, "braintumor_inference_duration_seconds_count", ("model", "lite-cnn")) >= 1);
        Assert.True(PrometheusText.Sum(metrics, "dotnet_process_memory_working_set_bytes") > 1_000_000);
        Assert.True(PrometheusText.Sum(metrics, "dotnet_process_cpu_time_seconds_total") > 0);
        Assert.Contains(PrometheusText.Samples(metrics, "dotnet_gc_collections_total"),
            sample => sample.Labels["gc_heap_generation"] == "gen2");
        Assert.NotEmpty(PrometheusText.Samples(metrics, "braintumor_queue_length"));
        Assert.NotEmpty(PrometheusText.Samples(metrics, "braintumor_rejections_total"));
    }

    [Fact]
    public async Task AFaultInsideAHandlerIsA500ProblemWithoutInternalsAndIsCountedAsA500()
    {
        using var faulty = factory.WithWebHostBuilder(builder =>
            builder.ConfigureTestServices(services => services.AddSingleton<Serilog.IDiagnosticContext>(new FailingOnceAnswered())));
        using var faultyClient = faulty.CreateClient();

        var response = await faultyClient.PostAsync("/predict", Uploads.Form(Uploads.PublicJpeg()));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal("Internal error", JsonDocument.Parse(body).RootElement.GetProperty("title").GetString());
        Assert.DoesNotContain(nameof(FailingOnceAnswered), body);
        string metrics = await faultyClient.GetStringAsync("/metrics");
        Assert.Equal(1, PrometheusText.Sum(metrics, "http_server_request_duration_seconds_count", ("http_route", "/predict"),
            ("http_response_status_code", "500")));
        Assert.Equal(0, PrometheusText.Sum(metrics, "http_server_request_duration_seconds_count", ("http_route", "/predict"),
            ("http_response_status_code", "200")));
        Assert.Equal(1, PrometheusText.Sum(metrics, "aspnetcore_diagnostics_exceptions_total",
            ("error_type", typeof(InvalidOperationException).FullName!)));
    }

    [Fact]
    public async Task AnUploadTheMemoryBudgetCannotHoldIs503WithRetryAfterBeforeItsBodyIsRead()
    {
        using var small = factory.ClientWith(("ServerLimits:MaxBufferedUploadBytes", (1024 * 1024).ToString()));
        var body = new ByteArrayContent(new byte[700 * 1024]);
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");

        var response = await small.PostAsync("/predict", body);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("Server busy", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        Assert.Equal(0, PrometheusText.Sum(await small.GetStringAsync("/metrics"), "braintumor_upload_reserved_bytes"));
    }

    [Fact]
    public async Task AFullQueueAnswers503WithRetryAfterAndAWaitingRequestIsServedLater()
    {
        using var server = factory.With(("Inference:MaxConcurrentRequests", "1"), ("Inference:MaxQueueLength", "1"));
        using var client = server.CreateClient();
        var admission = server.Services.GetRequiredService<AdmissionQueue>();
        byte[] jpeg = Uploads.PublicJpeg();

        var slot = await admission.TryEnterAsync(CancellationToken.None);
        var waiting = client.PostAsync("/predict", Uploads.Form(jpeg));
        var deadline = Stopwatch.StartNew();
        while (admission.Waiting == 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "The second request never started waiting for a slot.");
            await Task.Delay(10);
        }
        var refused = await client.PostAsync("/predict", Uploads.Form(jpeg));
        slot!.Dispose();
        var served = await waiting;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("Server busy", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(1, PrometheusText.Sum(await client.GetStringAsync("/metrics"), "braintumor_rejections_total"));
    }

    /// <summary>Fails when the handler records the label, that is after the model answered: a fault in the server's own code.</summary>
    private sealed class FailingOnceAnswered : Serilog.IDiagnosticContext
    {
        public void Set(string propertyName, object? value, bool destructureObjects = false)
        {
            if (propertyName == "Label" && value is string label && label != "-")
            {
                throw new InvalidOperationException($"{nameof(FailingOnceAnswered)}: a simulated fault");
            }
        }

        public void SetException(Exception exception)
        {
        }
    }
}
