using BrainTumor.Imaging;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using System.Globalization;
using BrainTumor.Imaging.Dicom;
using SkiaSharp;

namespace BrainTumor.Api.Infrastructure;

/// <summary>
/// Reads the uploaded image: the <c>image</c> field of a multipart form, or the whole body when its content
/// type is <c>image/*</c>. Bad uploads become problems with specific titles.
/// </summary>
public sealed class ImageUploads(IOptions<ServerLimitsOptions> limits)
{
    public const string FieldName = "image";

    public long MaxBytes => limits.Value.MaxUploadBytes;

    public async Task<Attempt<byte[]>> ReadAsync(HttpRequest request, CancellationToken cancellation)
    {
        if (request.ContentLength > limits.Value.MaxRequestBytes)
        {
            return TooLarge();
        }
        try
        {
            if (request.HasFormContentType)
            {
                // Uploads stay in memory (up to the limit) instead of going through temporary files.
                var form = await request.ReadFormAsync(new FormOptions
                {
                    MultipartBodyLengthLimit = limits.Value.MaxRequestBytes,
                    MemoryBufferThreshold = (int)Math.Min(limits.Value.MaxRequestBytes, int.MaxValue),
                }, cancellation);
                var files = form.Files.GetFiles(FieldName);
                if (files.Count == 0)
                {
                    return Problems.BadParameter("No image",
                        $"The form has no file field named '{FieldName}'" + (form.Files.Count > 0 ? $" (it has: {string.Join(", ", form.Files.Select(f => f.Name))})." : "."));
                }
                if (files.Count > 1)
                {
                    return Problems.BadParameter("Several images", $"The form has {files.Count} files named '{FieldName}'; send one image per request.");
                }
                var file = files[0];
                if (file.Length > MaxBytes)
                {
                    return TooLarge();
                }
                var bytes = new byte[file.Length];
                using var stream = file.OpenReadStream();
                await stream.ReadExactlyAsync(bytes, cancellation);
                return bytes;
            }
            if (request.ContentType?.StartsWith("image/", StringComparison.OrdinalIgnoreCase) == true ||
                request.ContentType?.StartsWith(BrainTumor.Imaging.Dicom.DicomImage.MediaType, StringComparison.OrdinalIgnoreCase) == true)
            {
                return await ReadBoundedAsync(request.Body, cancellation);
            }
        }
        catch (InvalidDataException ex) when (ex.Message.Contains("body length limit", StringComparison.OrdinalIgnoreCase))
        {
            // Only the body's size is a 413; the form reader's other limits (header line length, part count) are malformed forms.
            return TooLarge();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge();
        }
        catch (BadHttpRequestException ex) when (!cancellation.IsCancellationRequested)
        {
            // Kestrel's verdict on the body itself: 400 when it ended early, 408 when it arrived too slowly.
            return Problems.Create(ex.StatusCode, ex.StatusCode == StatusCodes.Status408RequestTimeout ? "Upload too slow" : "Incomplete body", ex.Message);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException && !cancellation.IsCancellationRequested)
        {
            return Problems.BadParameter("Malformed form", $"The multipart body cannot be read: {ex.Message}");
        }
        return Problems.BadParameter("No image",
            $"Send the image as multipart/form-data in a field named '{FieldName}', or as the whole body with an image/* or application/dicom content type" +
            (request.ContentType is { Length: > 0 } type ? $" (the request's content type is '{type}')." : "."));
    }

    /// <summary>
    /// The DICOM query options: <c>window=center,width</c> overrides the file's window, <c>frame=N</c> (1-based) picks a frame of
    /// a multi-frame image. They are ignored for other formats.
    /// </summary>
    public static Attempt<DicomReadOptions> DicomOptions(string? window, string? frame)
    {
        (double, double)? chosenWindow = null;
        if (window is not null)
        {
            var parts = window.Split(',');
            if (parts.Length != 2
                || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double center) || !double.IsFinite(center)
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double width) || !(width >= 1 && double.IsFinite(width)))
            {
                return Problems.BadParameter("Invalid window", $"window must be 'center,width' with a width of at least 1, not '{window}'.");
            }
            chosenWindow = (center, width);
        }
        int? chosenFrame = null;
        if (frame is not null)
        {
            if (!int.TryParse(frame, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number < 1)
            {
                return Problems.BadParameter("Invalid frame", $"frame must be a frame number from 1, not '{frame}'.");
            }
            chosenFrame = number;
        }
        return new DicomReadOptions(chosenFrame, chosenWindow);
    }

    /// <summary>Decodes after the size checks (a DICOM file with <paramref name="dicom"/>); maps decoding problems to 400 or 415.</summary>
    public Attempt<DecodedUpload> Decode(byte[] bytes, DicomReadOptions dicom)
    {
        try
        {
            if (DicomDataset.IsPart10(bytes))
            {
                var (bitmap, info) = DicomImage.Decode(bytes, dicom, limits.Value.ImageLimits);
                return new DecodedUpload(bitmap, info);
            }
            return new DecodedUpload(ImageLoader.Decode(bytes, limits.Value.ImageLimits), null);
        }
        catch (ImageDecodeException ex)
        {
            return ex.Problem switch
            {
                ImageProblem.Empty => Problems.BadParameter("Empty image", ex.Message),
                ImageProblem.UnsupportedFormat => Problems.Create(StatusCodes.Status415UnsupportedMediaType, "Unsupported image format", ex.Message),
                ImageProblem.TooLarge => Problems.BadParameter("Image dimensions too large", ex.Message),
                ImageProblem.TooSmall => Problems.BadParameter("Image too small", ex.Message),
                ImageProblem.OversizedMetadata => Problems.BadParameter("Image metadata too large", ex.Message),
                ImageProblem.NoSuchFrame => Problems.BadParameter("Invalid frame", ex.Message),
                _ => Problems.BadParameter("Corrupt image", ex.Message),
            };
        }
    }

    private async Task<Attempt<byte[]>> ReadBoundedAsync(Stream source, CancellationToken cancellation)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellation)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                return TooLarge();
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private ProblemHttpResult TooLarge() => Problems.Create(StatusCodes.Status413PayloadTooLarge, "Image too large",
        $"The upload is larger than the limit of {limits.Value.MaxUploadText}.");
}

/// <summary>A decoded upload; for a DICOM file also how it was rendered and the UIDs that link an answer back to it.</summary>
public sealed record DecodedUpload(SKBitmap Bitmap, DicomImageInfo? Dicom);
