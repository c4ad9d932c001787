using Microsoft.AspNetCore.Http.HttpResults;

namespace BrainTumor.Api.Infrastructure;

/// <summary>The RFC 9457 problem responses the API gives, each with a specific title.</summary>
public static class Problems
{
    public static ProblemHttpResult Create(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);

    public static ApiProblemException UnknownModel(string? name, IEnumerable<string> known) =>
        new(StatusCodes.Status404NotFound, "Unknown model", $"There is no model '{name}'. Available: {string.Join(", ", known)}.");

    public static ProblemHttpResult BadParameter(string title, string detail) => Create(StatusCodes.Status400BadRequest, title, detail);
}

/// <summary>A request that cannot go on; turned into problem+json where it is caught.</summary>
public sealed class ApiProblemException(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public ProblemHttpResult ToResult() => Problems.Create(Status, Title, Message);
}
