using Microsoft.AspNetCore.Diagnostics;

namespace BrainTumor.Api.Infrastructure;

/// <summary>
/// The one place where exceptions become problem+json. Expected request problems are returned by the handlers
/// (<see cref="Problems"/>); what arrives here is a client that went away (logged as information, no stack
/// trace) or a server fault (500, logged once with its stack trace, never shown to the caller).
/// </summary>
internal sealed class ApiExceptionHandler(IProblemDetailsService problemDetails, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>nginx's "client closed request": nobody reads it, but logs and metrics tell it apart from a fault.</summary>
    public const int ClientClosedRequest = 499;

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        int status;
        string title, detail;
        if (context.RequestAborted.IsCancellationRequested)
        {
            (status, title, detail) = (ClientClosedRequest, "Client closed request", "The client closed the connection before the answer.");
            logger.LogInformation("The client closed the connection before the answer ({Exception})", exception.GetType().Name);
        }
        else if (exception is BadHttpRequestException bad)
        {
            (status, title, detail) = (bad.StatusCode, "Bad request", bad.Message);
            logger.LogInformation("Bad request: {Status} {Detail}", bad.StatusCode, bad.Message);
        }
        else
        {
            (status, title, detail) =
                (StatusCodes.Status500InternalServerError, "Internal error", "The server failed to answer; the fault is in its log.");
            logger.LogError(exception, "Unhandled exception while answering {Method} {Path}", context.Request.Method, context.Request.Path);
        }
        context.Response.StatusCode = status;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
