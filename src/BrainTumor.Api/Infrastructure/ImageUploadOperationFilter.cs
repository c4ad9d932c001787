using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace BrainTumor.Api.Infrastructure;

/// <summary>Documents the two ways to send an image: a multipart field <c>image</c>, or the raw body.</summary>
public sealed class ImageUploadOperationFilter(IOptions<ServerLimitsOptions> limits) : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (!context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<ImageUploadMetadata>().Any())
        {
            return;
        }
        var binary = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" };
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
                    Description = $"Axial brain MRI slice: JPEG, PNG, BMP or WebP, at most {limits.Value.MaxUploadText} and {limits.Value.MaxImageSide} pixels per side.",
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
            },
        };
    }
}
