using System.Diagnostics;

namespace BrainTumor.Inference;

/// <summary>
/// Bounds the work in progress: at most <c>concurrency</c> requests run, at most <c>queueLength</c> wait,
/// and waiting requests are admitted strictly in arrival order so that the slowest wait about as long as
/// the average. A request that finds the queue full is refused at once (the caller answers 503).
/// </summary>
public sealed class AdmissionQueue
{
    private readonly object gate = new();
    private readonly Queue<TaskCompletionSource<Lease>> waiting = new();
    private readonly int concurrency;
    private readonly int queueLength;
    private int running;
    private long rejected;
    // Seconds a slot is held, smoothed over recent requests (weight 0.1 for the newest), for Retry-After.
    private double meanHoldSeconds;

    public AdmissionQueue(int concurrency, int queueLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(queueLength);
        this.concurrency = concurrency;
        this.queueLength = queueLength;
    }

    public int Running { get { lock (gate) return running; } }
    public int Waiting { get { lock (gate) return waiting.Count; } }
    public long Rejected => Interlocked.Read(ref rejected);

    /// <summary>How long a request arriving now would wait for a slot, from the recent time a slot was held.</summary>
    public TimeSpan EstimatedWait
    {
        get
        {
            lock (gate)
            {
                return TimeSpan.FromSeconds((waiting.Count + 1) * meanHoldSeconds / concurrency);
            }
        }
    }

    /// <summary>A slot, when one is free or becomes free; null at once when the queue is full.</summary>
    public ValueTask<Lease?> TryEnterAsync(CancellationToken cancellation)
    {
        TaskCompletionSource<Lease> ticket;
        lock (gate)
        {
            if (running < concurrency && waiting.Count == 0)
            {
                running++;
                return ValueTask.FromResult<Lease?>(new Lease(this));
            }
            if (waiting.Count >= queueLength)
            {
                Interlocked.Increment(ref rejected);
                return ValueTask.FromResult<Lease?>(null);
            }
            ticket = new TaskCompletionSource<Lease>(TaskCreationOptions.RunContinuationsAsynchronously);
            waiting.Enqueue(ticket);
        }
        return WaitAsync(ticket, cancellation);
    }

    private async ValueTask<Lease?> WaitAsync(TaskCompletionSource<Lease> ticket, CancellationToken cancellation)
    {
        // A caller that gives up (client gone) must not keep its place; if it was admitted meanwhile, the slot is passed on.
        await using var registration = cancellation.Register(() =>
        {
            if (ticket.TrySetCanceled(cancellation))
            {
                lock (gate)
                {
                    Remove(ticket);
                }
            }
        });
        return await ticket.Task.ConfigureAwait(false);
    }

    private void Remove(TaskCompletionSource<Lease> ticket)
    {
        int count = waiting.Count;
        for (int i = 0; i < count; i++)
        {
            var next = waiting.Dequeue();
            if (next != ticket)
            {
                waiting.Enqueue(next);
            }
        }
    }

    private void Release(double heldSeconds)
    {
        lock (gate)
        {
            meanHoldSeconds = meanHoldSeconds == 0 ? heldSeconds : 0.9 * meanHoldSeconds + 0.1 * heldSeconds;
            while (waiting.Count > 0)
            {
                // The slot passes straight to the oldest waiter that is still there.
                if (waiting.Dequeue().TrySetResult(new Lease(this)))
                {
                    return;
                }
            }
            running--;
        }
    }

    public sealed class Lease : IDisposable
    {
        private AdmissionQueue? owner;
        private readonly long admitted = Stopwatch.GetTimestamp();

        internal Lease(AdmissionQueue owner) => this.owner = owner;

        public void Dispose() => Interlocked.Exchange(ref owner, null)?.Release(Stopwatch.GetElapsedTime(admitted).TotalSeconds);
    }
}
