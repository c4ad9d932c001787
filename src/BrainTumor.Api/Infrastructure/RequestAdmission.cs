using System.Globalization;
using BrainTumor.Inference;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace BrainTumor.Api.Infrastructure;

/// <summary>
/// How an upload gets in: memory is reserved before the body is read (concurrent large uploads get 503, not the heap), the body
/// is read, then the request waits for a slot in the admission queue. Every route that runs a model comes through here.
/// </summary>
public sealed class RequestAdmission(AdmissionQueue admission, UploadBudget budget, IOptions<ServerLimitsOptions> limits)
{
    /// <param name="context">The request; a 503 sets its Retry-After.</param>
    /// <param name="read">Reads the body, or says what is wrong with it.</param>
    public async Task<Attempt<Admitted<T>>> AdmitAsync<T>(HttpContext context, Func<HttpRequest, CancellationToken, Task<Attempt<T>>> read)
        where T : class
    {
        var reservation = budget.TryReserve(budget.ShareFor(context.Request));
        if (reservation is null)
        {
            return Busy(context);
        }
        var held = new Holdings(reservation);
        try
        {
            var body = await read(context.Request, context.RequestAborted);
            if (body.Problem is ProblemHttpResult unreadable)
            {
                held.Dispose();
                return unreadable;
            }
            if (await admission.TryEnterAsync(context.RequestAborted) is not { } lease)
            {
                held.Dispose();
                return Busy(context);
            }
            held.Add(lease);
            return new Admitted<T>(body.Value!, held);
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>503 with a Retry-After of the queue's measured wait, and never less than the configured minimum.</summary>
    private ProblemHttpResult Busy(HttpContext context)
    {
        double seconds = Math.Max(limits.Value.RetryAfterSeconds, Math.Ceiling(admission.EstimatedWait.TotalSeconds));
        context.Response.Headers.RetryAfter = ((int)Math.Min(seconds, 3600)).ToString(CultureInfo.InvariantCulture);
        return Problems.ServerBusy();
    }
}

/// <summary>An admitted upload: its body, and the memory reservation and queue slot it holds until it is disposed.</summary>
public sealed class Admitted<T>(T body, Holdings held) : IDisposable
{
    public T Body { get; } = body;

    /// <summary>What the request holds; what it decodes joins them, so that one dispose gives everything back.</summary>
    public Holdings Held { get; } = held;

    public void Dispose() => Held.Dispose();
}

/// <summary>Resources a request holds, given back together, last taken first.</summary>
public sealed class Holdings(IDisposable first) : IDisposable
{
    private readonly Stack<IDisposable> held = new([first]);

    public T Add<T>(T resource) where T : IDisposable
    {
        held.Push(resource);
        return resource;
    }

    public void Dispose()
    {
        while (held.TryPop(out var resource))
        {
            resource.Dispose();
        }
    }
}
