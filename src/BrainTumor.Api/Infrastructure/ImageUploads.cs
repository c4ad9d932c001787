using BrainTumor.Imaging;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
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

    public Task<Attempt<byte[]>> ReadAsync(HttpRequest request, CancellationToken cancellation) =>
        ReadGuardedAsync<byte[]>(request, async () =>
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
                    $"The form has no file field named '{FieldName}'" +
                    (form.Files.Count > 0 ? $" (it has: {string.Join(", ", form.Files.Select(f => f.Name))})." : "."));
            }
            if (files.Count > 1)
            {
                return Problems.BadParameter("Several images",
                    $"The form has {files.Count} files named '{FieldName}'; send one image per request.");
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
            request.ContentType?.StartsWith(DicomImage.MediaType, StringComparison.OrdinalIgnoreCase) == true)
        {
            return await ReadBoundedAsync(request.Body, cancellation);
        }
        return Problems.BadParameter("No image",
            $"Send the image as multipart/form-data in a field named '{FieldName}', " +
            "or as the whole body with an image/* or application/dicom content type" +
            (request.ContentType is { Length: > 0 } type ? $" (the request's content type is '{type}')." : "."));
    }, cancellation);

    /// <summary>
    /// Reads a STOW-RS request (PS3.18 10.5): <c>multipart/related; type="application/dicom"</c>, one DICOM Part 10 instance per part,
    /// each at most the upload limit and all of them together at most the request limit.
    /// </summary>
    public Task<Attempt<IReadOnlyList<DicomPart>>> ReadInstancesAsync(HttpRequest request, CancellationToken cancellation) =>
        ReadGuardedAsync<IReadOnlyList<DicomPart>>(request, async () =>
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !type.MediaType.Equals("multipart/related", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(type.Boundary) is not { Length: > 0 } boundary
            || type.Parameters.FirstOrDefault(p => p.Name.Equals("type", StringComparison.OrdinalIgnoreCase)) is { } root
               && !HeaderUtilities.RemoveQuotes(root.Value).Equals(DicomImage.MediaType, StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Create(StatusCodes.Status415UnsupportedMediaType, "Not a STOW-RS request",
                $"Send DICOM instances as multipart/related; type=\"{DicomImage.MediaType}\" with a boundary" +
                (request.ContentType is { Length: > 0 } given ? $" (the request's content type is '{given}')." : "."));
        }
        var reader = new MultipartReader(boundary.ToString(), request.Body) { BodyLengthLimit = limits.Value.MaxRequestBytes };
        var parts = new List<DicomPart>();
        while (await reader.ReadNextSectionAsync(cancellation) is { } section)
        {
            var bytes = await ReadBoundedAsync(section.Body, cancellation);
            if (bytes.Problem is ProblemHttpResult tooLarge)
            {
                return tooLarge;
            }
            parts.Add(new DicomPart(bytes.Value!));
        }
        return parts.Count > 0
            ? new Attempt<IReadOnlyList<DicomPart>>(parts, null)
            : Problems.BadParameter("No instances", "The multipart/related body has no part; send one DICOM instance per part.");
    }, cancellation);

    /// <summary>Runs a body reader, mapping what Kestrel and the multipart readers throw to the problems a caller can act on.</summary>
    private async Task<Attempt<T>> ReadGuardedAsync<T>(HttpRequest request, Func<Task<Attempt<T>>> read, CancellationToken cancellation)
        where T : class
    {
        if (request.ContentLength > limits.Value.MaxRequestBytes)
        {
            return TooLarge();
        }
        try
        {
            return await read();
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
            return Problems.Create(ex.StatusCode,
                ex.StatusCode == StatusCodes.Status408RequestTimeout ? "Upload too slow" : "Incomplete body", ex.Message);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException && !cancellation.IsCancellationRequested)
        {
            return Problems.BadParameter("Malformed form", $"The multipart body cannot be read: {ex.Message}");
        }
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
                || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double center)
                || !double.IsFinite(center)
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double width)
                || !(width >= 1 && double.IsFinite(width)))
            {
                return Problems.BadParameter("Invalid window",
                    $"window must be 'center,width' with a width of at least 1, not '{window}'.");
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

    /// <summary>
    /// Decodes after the size checks (a DICOM file with <paramref name="dicom"/>); maps decoding problems to 400 or 415. With
    /// <see cref="ServerLimitsOptions.ScaledJpegDecoding"/>, a large JPEG is decoded smaller, but no smaller than
    /// <paramref name="atLeast"/>
    /// (a model's input size; <see cref="ImageLoader.Decode"/>); null decodes at full size.
    /// </summary>
    public Attempt<DecodedUpload> Decode(byte[] bytes, DicomReadOptions dicom, SKSizeI? atLeast = null)
    {
        try
        {
            if (DicomDataset.IsPart10(bytes))
            {
                var (bitmap, info) = DicomImage.Decode(bytes, dicom, limits.Value.ImageLimits);
                return new DecodedUpload(bitmap, info, new SKSizeI(bitmap.Width, bitmap.Height));
            }
            var decoded = ImageLoader.DecodeWithDicomInfo(bytes, limits.Value.ImageLimits,
                limits.Value.ScaledJpegDecoding ? atLeast : null);
            return new DecodedUpload(decoded.Bitmap, null, decoded.FullSize);
        }
        catch (ImageDecodeException ex)
        {
            return ex.Problem switch
            {
                ImageProblem.Empty => Problems.BadParameter("Empty image", ex.Message),
                ImageProblem.UnsupportedFormat =>
                    Problems.Create(StatusCodes.Status415UnsupportedMediaType, "Unsupported image format", ex.Message),
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

/// <summary>One part of a STOW-RS request: the bytes of one DICOM instance, as sent.</summary>
public sealed record DicomPart(byte[] Bytes);

/// <summary>
/// A decoded upload; for a DICOM file also how it was rendered and the UIDs that link an answer back to it. <c>FullSize</c> is the
/// upload's upright size, larger than the bitmap's when a JPEG was decoded at a reduced scale.
/// </summary>
public sealed record DecodedUpload(SKBitmap Bitmap, DicomImageInfo? Dicom, SKSizeI FullSize);
