using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using BrainTumor.Imaging.Dicom;
using Microsoft.Extensions.Options;

namespace BrainTumor.Api.Infrastructure;

/// <summary>The new instances made for one source image, to be stored in its study.</summary>
public sealed record PendingResult(string StudyInstanceUid, IReadOnlyList<byte[]> Instances);

/// <summary>
/// Stores results in the PACS by STOW-RS, one at a time in the order they were made, from memory. The HTTP client's resilience
/// handler retries transient failures with backoff; a result whose retries all fail is kept and tried again after
/// <see cref="DicomWebOptions.RetryRoundDelaySeconds"/>, until it is stored or the server stops. Every failed attempt is logged
/// with the study's UID (no patient attribute) and counted; a result the PACS refuses, or one still waiting at shutdown, is
/// logged as an error and counted as abandoned.
/// </summary>
public sealed class DicomWebResults : BackgroundService
{
    public const string ClientName = "dicomweb-results";

    /// <summary>The study a store request is for, so that the resilience handler's retries can log it.</summary>
    public static readonly HttpRequestOptionsKey<string> StudyKey = new("BrainTumor.StudyInstanceUid");

    private readonly Channel<PendingResult> pending;
    private readonly IHttpClientFactory clients;
    private readonly ServerMetrics metrics;
    private readonly ILogger<DicomWebResults> logger;
    private readonly DicomWebOptions options;

    public DicomWebResults(IOptions<DicomWebOptions> options, IHttpClientFactory clients, ServerMetrics metrics,
        ILogger<DicomWebResults> logger)
    {
        this.options = options.Value;
        this.clients = clients;
        this.metrics = metrics;
        this.logger = logger;
        pending = Channel.CreateBounded<PendingResult>(new BoundedChannelOptions(this.options.MaxPendingResults) { SingleReader = true });
    }

    /// <summary>Whether results are sent back at all (<see cref="DicomWebOptions.ResultsUrl"/> is set).</summary>
    public bool Enabled => options.ResultsUri is not null;

    /// <summary>Queues a result; false when <see cref="DicomWebOptions.MaxPendingResults"/> are already waiting.</summary>
    public bool TryQueue(PendingResult result)
    {
        if (!pending.Writer.TryWrite(result))
        {
            return false;
        }
        metrics.RecordResultQueued();
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        PendingResult? current = null;
        try
        {
            await foreach (var result in pending.Reader.ReadAllAsync(stopping))
            {
                current = result;
                await DeliverAsync(result, stopping);
                current = null;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Results live in memory only: what is still waiting is lost, and said so.
            if (current is not null)
            {
                Abandon(current, "the server stopped while it was being sent");
            }
            while (pending.Reader.TryRead(out var waiting))
            {
                Abandon(waiting, "the server stopped before it was sent");
            }
        }
    }

    private async Task DeliverAsync(PendingResult result, CancellationToken stopping)
    {
        while (true)
        {
            HttpStatusCode? status = null;
            try
            {
                using var response = await StoreAsync(result, stopping);
                status = response.StatusCode;
                if (status == HttpStatusCode.OK)
                {
                    metrics.RecordResultStored();
                    logger.LogInformation("Stored {Count} result instances in study {StudyInstanceUid}",
                        result.Instances.Count, result.StudyInstanceUid);
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TimeoutException or Polly.Timeout.TimeoutRejectedException
                                       || ex is OperationCanceledException && !stopping.IsCancellationRequested)
            {
                logger.LogWarning("Storing results in study {StudyInstanceUid} failed: {Error}", result.StudyInstanceUid, ex.Message);
            }
            metrics.RecordStoreFailure();
            if (status is { } refused && !Transient(refused))
            {
                // The PACS answered and said no (or stored only part): sending the same instances again would get the same answer.
                Abandon(result, $"the PACS answered {(int)refused} {refused}");
                return;
            }
            logger.LogWarning("Results for study {StudyInstanceUid} not stored yet{Status}; trying again in {Delay} s",
                result.StudyInstanceUid, status is null ? "" : $" (the PACS answered {(int)status})", options.RetryRoundDelaySeconds);
            await Task.Delay(TimeSpan.FromSeconds(options.RetryRoundDelaySeconds), stopping);
        }
    }

    private async Task<HttpResponseMessage> StoreAsync(PendingResult result, CancellationToken cancellation)
    {
        var content = new MultipartContent("related");
        content.Headers.ContentType!.Parameters.Add(new NameValueHeaderValue("type", $"\"{DicomImage.MediaType}\""));
        foreach (byte[] instance in result.Instances)
        {
            var part = new ByteArrayContent(instance);
            part.Headers.ContentType = new MediaTypeHeaderValue(DicomImage.MediaType);
            content.Add(part);
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(options.ResultsUri!, $"studies/{result.StudyInstanceUid}"))
        {
            Content = content
        };
        request.Headers.Accept.ParseAdd(Endpoints.DicomWebEndpoints.DicomJsonMediaType);
        request.Options.Set(StudyKey, result.StudyInstanceUid);
        return await clients.CreateClient(ClientName).SendAsync(request, cancellation);
    }

    /// <summary>What the resilience handler retries, and this outbox keeps retrying after it: no answer, or a server-side one.</summary>
    public static bool Transient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    private void Abandon(PendingResult result, string why)
    {
        metrics.RecordResultAbandoned();
        logger.LogError("Results for study {StudyInstanceUid} were not stored: {Reason}", result.StudyInstanceUid, why);
    }
}
