using Microsoft.Extensions.Options;

namespace BrainTumor.Api.Infrastructure;

/// <summary>
/// Bounds the memory held by uploads: a request reserves its share of
/// <see cref="ServerLimitsOptions.MaxBufferedUploadBytes"/> before its body is read, and gives it back when it is answered.
/// </summary>
public sealed class UploadBudget(IOptions<ServerLimitsOptions> limits)
{
    private long reserved;

    public long ReservedBytes => Interlocked.Read(ref reserved);

    /// <summary>What a request may come to hold: its form is buffered, then the image is copied out of it.</summary>
    public long ShareFor(HttpRequest request) =>
        2 * Math.Min(request.ContentLength ?? long.MaxValue, limits.Value.MaxRequestBytes);

    /// <summary>A reservation of <paramref name="bytes"/>, or null when the budget cannot hold it now.</summary>
    public Reservation? TryReserve(long bytes)
    {
        long limit = limits.Value.MaxBufferedUploadBytes;
        while (true)
        {
            long current = Interlocked.Read(ref reserved);
            if (current + bytes > limit)
            {
                return null;
            }
            if (Interlocked.CompareExchange(ref reserved, current + bytes, current) == current)
            {
                return new Reservation(this, bytes);
            }
        }
    }

    public sealed class Reservation(UploadBudget budget, long bytes) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                Interlocked.Add(ref budget.reserved, -bytes);
            }
        }
    }
}
