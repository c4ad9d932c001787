using System.Text.Json.Nodes;
using BrainTumor.Api.Endpoints;
using BrainTumor.Imaging.Dicom;
using BrainTumor.Inference;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace BrainTumor.Api.Infrastructure;

/// <summary>
/// What the endpoint metadata cannot say by itself: the two ways to send an image, the PNG answer beside the
/// JSON one, and the allowed values of the query parameters, taken from the loaded models and the code's constants.
/// </summary>
public sealed class ImageUploadOperationFilter(IOptions<ServerLimitsOptions> limits, ModelCatalog catalog) : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        foreach (var parameter in operation.Parameters ?? [])
        {
            if (Choices(parameter.Name) is { } choices && parameter is OpenApiParameter { Schema: OpenApiSchema schema })
            {
                schema.Enum = choices.Select(c => (JsonNode)c!).ToList();
            }
        }
        if (!context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<ImageUploadMetadata>().Any())
        {
            return;
        }
        var binary = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" };
        if (operation.Responses?.TryGetValue("200", out var ok) == true && ok is OpenApiResponse { Content: { } content })
        {
            content["image/png"] = new OpenApiMediaType { Schema = binary };
            if (context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IEndpointNameMetadata>()
                .Any(name => name.EndpointName == "GradCam"))
            {
                // A DICOM input can be answered as a Secondary Capture in its own study (Accept: application/dicom).
                content[DicomImage.MediaType] = new OpenApiMediaType { Schema = binary };
            }
        }
        var form = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Required = new HashSet<string> { ImageUploads.FieldName },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                [ImageUploads.FieldName] = new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Format = "binary",
                    Description = $"Axial brain MRI slice: JPEG, PNG, BMP, WebP or DICOM, " +
                        $"at most {limits.Value.MaxUploadText} and {limits.Value.MaxImageSide} pixels per side.",
                },
            },
        };
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Description = "The image, as a multipart form field 'image' or as the whole body.",
            Content = new Dictionary<string, IOpenApiMediaType>
            {
                ["multipart/form-data"] = new OpenApiMediaType { Schema = form },
                ["image/jpeg"] = new OpenApiMediaType { Schema = binary },
                ["image/png"] = new OpenApiMediaType { Schema = binary },
                ["image/bmp"] = new OpenApiMediaType { Schema = binary },
                ["image/webp"] = new OpenApiMediaType { Schema = binary },
                [DicomImage.MediaType] = new OpenApiMediaType { Schema = binary },
            },
        };
    }

    private IReadOnlyList<string>? Choices(string? parameter) => parameter switch
    {
        "model" => catalog.All.Select(m => m.Name).ToList(),
        "class" => catalog.All.SelectMany(m => m.Manifest.Labels).Distinct().Order(StringComparer.Ordinal).ToList(),
        "output" => GradCamOutputs.Names,
        "method" => CamMethods.Names,
        "format" => PredictFormats.Names,
        "operatingPoint" => OperatingPoints.Names,
        _ => null,
    };
}

/// <summary>
/// Declares the API key, its 401 answer and the Authorize button only when the server has a key configured,
/// and only on the routes that ask for it.
/// </summary>
public sealed class ApiKeyOperationFilter(IOptions<SecurityOptions> security) : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (string.IsNullOrEmpty(security.Value.ApiKey) || SecurityOptions.IsOpen("/" + context.ApiDescription.RelativePath))
        {
            return;
        }
        operation.Responses ??= new OpenApiResponses();
        operation.Responses["401"] = new OpenApiResponse
        {
            Description = $"Missing or wrong {SecurityOptions.ApiKeyHeader}.",
            Content = new Dictionary<string, IOpenApiMediaType>
            {
                ["application/problem+json"] = new OpenApiMediaType
                {
                    Schema = new OpenApiSchemaReference("ProblemDetails", context.Document)
                },
            },
        };
        operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, context.Document)] = [] }];
    }

    public const string ApiKeyScheme = "ApiKey";
}

/// <summary>The API key scheme when one is configured, and the tags in the order a person uses them.</summary>
public sealed class ApiDocumentFilter(IOptions<SecurityOptions> security) : IDocumentFilter
{
    public static readonly string[] TagOrder = ["Prediction", "Grad-CAM", "Models", "Operations"];

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        var tags = document.Tags ?? new HashSet<OpenApiTag>();
        var byName = tags.ToDictionary(t => t.Name ?? "");
        document.Tags = new HashSet<OpenApiTag>(TagOrder.Select(name => byName.GetValueOrDefault(name) ?? new OpenApiTag { Name = name })
            .Concat(tags.Where(t => !TagOrder.Contains(t.Name))));
        document.Paths ??= new OpenApiPaths();
        document.Paths[HealthEndpoints.MetricsPath] = MetricsPath();
        if (!string.IsNullOrEmpty(security.Value.ApiKey))
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[ApiKeyOperationFilter.ApiKeyScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = SecurityOptions.ApiKeyHeader,
                Description = "This server requires its API key on every route except health, metrics and Swagger.",
            };
        }
    }

    /// <summary>The exporter's /metrics is middleware, invisible to the API explorer, so it is described here.</summary>
    private static OpenApiPathItem MetricsPath() => new()
    {
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Get] = new()
            {
                OperationId = "Metrics",
                Summary = "Prometheus metrics: request latency by route and status, queue length, rejections, " +
                    "inference time by model, process and GC",
                Tags = new HashSet<OpenApiTagReference> { new("Operations") },
                Responses = new OpenApiResponses
                {
                    ["200"] = new OpenApiResponse
                    {
                        Description = "Prometheus text exposition format",
                        Content = new Dictionary<string, IOpenApiMediaType> { ["text/plain"] = new OpenApiMediaType() },
                    },
                },
            },
        },
    };
}
