namespace BrainTumor.Api.Infrastructure;

/// <summary>Marks endpoints that take an uploaded image, so that Swagger documents the request body.</summary>
public sealed class ImageUploadMetadata;

public static class ImageEndpointConventions
{
    /// <summary>What every image-taking endpoint shares: the upload's documentation, a PNG answer, its problem responses.</summary>
    /// <typeparam name="TJson">The JSON answer; the PNG one is documented beside it by
    /// <see cref="ImageUploadOperationFilter"/>.</typeparam>
    public static RouteHandlerBuilder AcceptsImageUpload<TJson>(this RouteHandlerBuilder endpoint) => endpoint
        .WithMetadata(new ImageUploadMetadata())
        .Produces<TJson>(StatusCodes.Status200OK, "application/json")
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status408RequestTimeout)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
        .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
        .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
}
