using Microsoft.AspNetCore.Http.HttpResults;

namespace BrainTumor.Api.Infrastructure;

/// <summary>
/// The RFC 9457 problem responses the API gives, each with a specific title. Handlers return them; only the
/// truly exceptional reaches <see cref="ApiExceptionHandler"/>.
/// </summary>
public static class Problems
{
    public static ProblemHttpResult Create(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);

    public static ProblemHttpResult BadParameter(string title, string detail) => Create(StatusCodes.Status400BadRequest, title, detail);

    /// <summary>400 for a query parameter whose value is none of its names.</summary>
    public static ProblemHttpResult NotOneOf(string parameter, IEnumerable<string> names, string? value) =>
        BadParameter($"Invalid {parameter}", $"{parameter} must be one of {string.Join(", ", names)}, not '{value}'.");

    public static ProblemHttpResult UnknownModel(string? name, IEnumerable<string> known) =>
        Create(StatusCodes.Status404NotFound, "Unknown model", $"There is no model '{name}'. Available: {string.Join(", ", known)}.");

    /// <summary>422: the image was read, but it cannot be a brain MRI slice (a strip, a blank frame, a colour picture).</summary>
    public static ProblemHttpResult NotASlice(BrainTumor.Imaging.SliceRefusal refusal) =>
        Create(StatusCodes.Status422UnprocessableEntity, refusal.Title, refusal.Detail);

    /// <summary>422 under the <c>Refuse</c> policy: the model's out-of-distribution guard flagged the image.</summary>
    public static ProblemHttpResult OutOfDistribution(string model, double score, double threshold) =>
        Create(StatusCodes.Status422UnprocessableEntity, "Unlike the training images",
            $"Model '{model}' saw nothing like this image in training " +
            $"(out-of-distribution score {score:0.#}, above its threshold {threshold:0.#}), " +
            "so its answer would not mean anything. Send an axial brain MRI slice.");

    public static ProblemHttpResult ServerBusy() => Create(StatusCodes.Status503ServiceUnavailable, "Server busy",
        "Too many requests are waiting; retry after the time in the Retry-After header.");
}

/// <summary>A step's result, or the problem that stopped the request there.</summary>
public readonly record struct Attempt<T>(T? Value, ProblemHttpResult? Problem) where T : class
{
    public static implicit operator Attempt<T>(T value) => new(value, null);

    public static implicit operator Attempt<T>(ProblemHttpResult problem) => new(null, problem);
}
