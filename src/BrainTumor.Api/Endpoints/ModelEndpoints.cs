using BrainTumor.Api.Infrastructure;
using BrainTumor.Inference;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BrainTumor.Api.Endpoints;

public static class ModelEndpoints
{
    public static IEndpointRouteBuilder MapModelEndpoints(this IEndpointRouteBuilder app)
    {
        // As for /predict: the routes on the endpoints keep the metrics' http.route free of a trailing slash.
        var group = app.MapGroup("").WithTags("Models");
        group.MapGet("/models", ListModels)
            .WithName("ListModels")
            .WithSummary("The served models: their manifests, with measured metrics; the default first");
        group.MapGet("/models/{model}", GetModel)
            .WithName("GetModel")
            .WithSummary("One model's manifest")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static Ok<ModelResponse[]> ListModels(ModelCatalog catalog) =>
        TypedResults.Ok(catalog.All.OrderByDescending(m => m == catalog.Default).Select(m => ModelResponse.From(m.Manifest)).ToArray());

    /// <param name="model">Model name, as listed by GET /models.</param>
    /// <param name="catalog">The served models.</param>
    public static Results<Ok<ModelResponse>, ProblemHttpResult> GetModel(string model, ModelCatalog catalog) =>
        catalog.Find(model) is ClassifierModel found
            ? TypedResults.Ok(ModelResponse.From(found.Manifest))
            : Problems.UnknownModel(model, catalog.All.Select(m => m.Name));
}
