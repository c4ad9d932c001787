using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace BrainTumor.Api.Tests;

/// <summary>
/// Clients that misbehave on the wire, against a real Kestrel (the in-memory test server enforces no data rates):
/// a body that trickles in gets 408, and a client that leaves mid-upload is counted as 499 or 400, not as a server error.
/// </summary>
[Trait("Category", "Slow")]
[Collection(ProcessWideMetricsCollection.Name)]
public sealed class SlowClientTests : IDisposable
{
    private readonly BrainTumorApiFactory factory = new();

    public SlowClientTests()
    {
        // Kestrel's default is 240 bytes/s after 5 s; a shorter grace keeps the test short.
        factory.UseKestrel(kestrel =>
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 1000, gracePeriod: TimeSpan.FromSeconds(2)));
        factory.StartServer();
    }

    public void Dispose() => factory.Dispose();

    private Uri BaseAddress => factory.ClientOptions.BaseAddress;

    private async Task<NetworkStream> OpenUploadAsync(TcpClient socket, int declaredLength)
    {
        await socket.ConnectAsync(BaseAddress.Host, BaseAddress.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /predict HTTP/1.1\r\nHost: {BaseAddress.Authority}\r\n" +
            $"Content-Type: image/jpeg\r\nContent-Length: {declaredLength}\r\n\r\n"));
        return stream;
    }

    [Fact]
    public async Task ABodyThatTricklesInIsAnswered408()
    {
        using var socket = new TcpClient();
        var stream = await OpenUploadAsync(socket, 100_000);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var answer = new byte[256];
        var reading = stream.ReadAsync(answer, deadline.Token).AsTask();
        while (!reading.IsCompleted && !deadline.IsCancellationRequested)
        {
            try
            {
                await stream.WriteAsync(new byte[10], deadline.Token);
            }
            catch (IOException)
            {
                break;
            }
            await Task.WhenAny(reading, Task.Delay(500, deadline.Token));
        }

        int read = await reading;
        Assert.StartsWith("HTTP/1.1 408", Encoding.ASCII.GetString(answer, 0, read));
    }

    [Fact]
    public async Task AClientThatLeavesMidUploadIsCountedAsAClientFaultNotAServerError()
    {
        using (var socket = new TcpClient())
        {
            var stream = await OpenUploadAsync(socket, 100_000);
            await stream.WriteAsync(new byte[5_000]);
            await Task.Delay(200);
        }

        using var client = factory.CreateClient();
        var clock = Stopwatch.StartNew();
        string metrics = "";
        // Which comes first is a race: the abort (499) or Kestrel's verdict that the body ended early (400).
        var predictions = Enumerable.Empty<(Dictionary<string, string> Labels, double Value)>();
        while (clock.Elapsed < TimeSpan.FromSeconds(20) && !predictions.Any())
        {
            await Task.Delay(100);
            metrics = await client.GetStringAsync("/metrics");
            predictions = PrometheusText.Samples(metrics, "http_server_request_duration_seconds_count")
                .Where(sample => sample.Labels.GetValueOrDefault("http_route") == "/predict").ToList();
        }
        var answered = Assert.Single(predictions);
        Assert.Contains(answered.Labels["http_response_status_code"], new[] { "499", "400" });
        Assert.Equal(1, answered.Value);
    }
}
