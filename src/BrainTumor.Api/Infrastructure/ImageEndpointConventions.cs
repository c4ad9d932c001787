namespace BrainTumor.Api.Infrastructure;

/// <summary>Marks endpoints that take an uploaded image, so that Swagger documents the request body.</summary>
public sealed class ImageUploadMetadata;

public static class ImageEndpointConventions
{
    /// <summary>What every image-taking endpoint shares: the upload's documentation, a PNG answer, its problem responses.</summary>
    public static RouteHandlerBuilder AcceptsImageUpload(this RouteHandlerBuilder endpoint) => endpoint
        .WithMetadata(new ImageUploadMetadata())
        .Produces(StatusCodes.Status200OK, contentType: "image/png")
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status408RequestTimeout)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
        .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
}
