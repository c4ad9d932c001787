namespace BrainTumor.Api.Infrastructure;

/// <summary>Turns an <see cref="ApiProblemException"/> thrown anywhere in a handler into its problem+json response.</summary>
public sealed class ApiProblemFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (ApiProblemException problem)
        {
            return problem.ToResult();
        }
    }
}

/// <summary>Marks endpoints that take an uploaded image, so that Swagger documents the request body.</summary>
public sealed class ImageUploadMetadata;
