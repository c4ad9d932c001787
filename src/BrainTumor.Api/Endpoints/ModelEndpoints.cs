using BrainTumor.Api.Infrastructure;
using BrainTumor.Inference;
using BrainTumor.Models;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BrainTumor.Api.Endpoints;

public static class ModelEndpoints
{
    public static IEndpointRouteBuilder MapModelEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/models").WithTags("Models");
        group.MapGet("", ListModels)
            .WithName("ListModels")
            .WithSummary("The served models: their manifests, with measured metrics; the default first");
        group.MapGet("/{name}", GetModel)
            .WithName("GetModel")
            .WithSummary("One model's manifest");
        return app;
    }

    public static Ok<ModelManifest[]> ListModels(ModelCatalog catalog) =>
        TypedResults.Ok(catalog.All.OrderByDescending(m => m == catalog.Default).Select(m => m.Manifest).ToArray());

    /// <param name="name">Model name, as listed by GET /models.</param>
    /// <param name="catalog">The served models.</param>
    public static Results<Ok<ModelManifest>, ProblemHttpResult> GetModel(string name, ModelCatalog catalog) =>
        catalog.Find(name) is ClassifierModel model
            ? TypedResults.Ok(model.Manifest)
            : Problems.UnknownModel(name, catalog.All.Select(m => m.Name));
}
