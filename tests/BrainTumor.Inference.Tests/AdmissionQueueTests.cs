namespace BrainTumor.Inference.Tests;

public class AdmissionQueueTests
{
    [Fact]
    public async Task RequestsBeyondTheSlotsWaitAndAreAdmittedInArrivalOrder()
    {
        var queue = new AdmissionQueue(concurrency: 1, queueLength: 10);
        var first = await queue.TryEnterAsync(CancellationToken.None);
        var admitted = new List<int>();
        var waiters = Enumerable.Range(1, 5).Select(async i =>
        {
            using var lease = await queue.TryEnterAsync(CancellationToken.None);
            lock (admitted)
            {
                admitted.Add(i);
            }
        }).ToList();

        Assert.Equal(5, queue.Waiting);
        first!.Dispose();
        await Task.WhenAll(waiters);

        Assert.Equal([1, 2, 3, 4, 5], admitted);
        Assert.Equal(0, queue.Running);
    }

    [Fact]
    public async Task TheEstimatedWaitGrowsWithTheQueueAndTheTimeASlotIsHeld()
    {
        var queue = new AdmissionQueue(concurrency: 2, queueLength: 10);
        Assert.Equal(TimeSpan.Zero, queue.EstimatedWait);

        var held = await queue.TryEnterAsync(CancellationToken.None);
        await Task.Delay(200);
        held!.Dispose();
        var first = await queue.TryEnterAsync(CancellationToken.None);
        var second = await queue.TryEnterAsync(CancellationToken.None);
        var waiting = Enumerable.Range(0, 3).Select(_ => queue.TryEnterAsync(CancellationToken.None).AsTask()).ToList();

        // Four requests ahead of a newcomer (three waiting and itself), two slots, about 0.2 s each. The lower bound allows
        // for timer granularity: a 200 ms delay was once measured as held for 199.6 ms.
        Assert.InRange(queue.EstimatedWait.TotalSeconds, 4 * 0.19 / 2, 4 * 1.0 / 2);
        first!.Dispose();
        second!.Dispose();
        foreach (var admission in waiting)
        {
            (await admission.WaitAsync(TimeSpan.FromSeconds(10)))!.Dispose();
        }
    }

    [Fact]
    public async Task AFullQueueRefusesAtOnce()
    {
        var queue = new AdmissionQueue(concurrency: 2, queueLength: 1);
        var running = new[] { await queue.TryEnterAsync(CancellationToken.None), await queue.TryEnterAsync(CancellationToken.None) };
        var waiting = queue.TryEnterAsync(CancellationToken.None);

        var refused = await queue.TryEnterAsync(CancellationToken.None);

        Assert.All(running, Assert.NotNull);
        Assert.False(waiting.IsCompleted);
        Assert.Null(refused);
        Assert.Equal(1, queue.Rejected);
        running[0]!.Dispose();
        Assert.NotNull(await waiting);
    }

    [Fact]
    public async Task ACallerThatGivesUpLeavesTheQueue()
    {
        var queue = new AdmissionQueue(concurrency: 1, queueLength: 1);
        var holder = await queue.TryEnterAsync(CancellationToken.None);
        using var cancellation = new CancellationTokenSource();
        var abandoned = queue.TryEnterAsync(cancellation.Token).AsTask();

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal(0, queue.Waiting);
        var next = queue.TryEnterAsync(CancellationToken.None);
        holder!.Dispose();
        Assert.NotNull(await next);
    }

    [Fact]
    public async Task DisposingALeaseTwiceFreesOneSlot()
    {
        var queue = new AdmissionQueue(concurrency: 1, queueLength: 0);
        var lease = await queue.TryEnterAsync(CancellationToken.None);

        lease!.Dispose();
        lease.Dispose();

        Assert.Equal(0, queue.Running);
        Assert.NotNull(await queue.TryEnterAsync(CancellationToken.None));
        Assert.Null(await queue.TryEnterAsync(CancellationToken.None));
    }
}
