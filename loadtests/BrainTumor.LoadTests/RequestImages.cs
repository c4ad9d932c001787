using System.Net.Http.Headers;
using BrainTumor.Imaging;

namespace BrainTumor.LoadTests;

/// <summary>Real MRI images, interleaved so that consecutive requests cycle through the classes.</summary>
public sealed class RequestImages
{
    private readonly (string Name, byte[] Bytes)[] images;

    private RequestImages((string Name, byte[] Bytes)[] images) => this.images = images;

    public int Count => images.Length;
    public double AverageBytes => images.Average(i => i.Bytes.Length);

    /// <param name="perClass">Images read from each class folder (the first by name).</param>
    public static RequestImages Load(string folder, int perClass = 50)
    {
        var classes = Directory.GetDirectories(folder).Order(StringComparer.Ordinal)
            .Select(d => Directory.EnumerateFiles(d).Where(ImageLoader.IsImageFile).Order(StringComparer.Ordinal).Take(perClass).ToList())
            .Where(files => files.Count > 0)
            .ToList();
        if (classes.Count == 0)
        {
            var flat = Directory.EnumerateFiles(folder).Where(ImageLoader.IsImageFile).Order(StringComparer.Ordinal).Take(perClass).ToList();
            classes = flat.Count > 0 ? [flat] : throw new LoadTestException($"No images in '{folder}' or its sub-folders.");
        }
        int longest = classes.Max(c => c.Count);
        var interleaved = Enumerable.Range(0, longest)
            .SelectMany(i => classes.Where(c => i < c.Count).Select(c => c[i]))
            .Select(path => (Path.GetFileName(path), File.ReadAllBytes(path)))
            .ToArray();
        return new RequestImages(interleaved);
    }

    /// <summary>The encoded bytes of image number <paramref name="index"/> (cycling).</summary>
    public byte[] Bytes(long index) => images[index % images.Length].Bytes;

    /// <summary>The multipart upload a client sends for request number <paramref name="index"/>.</summary>
    public MultipartFormDataContent Upload(long index)
    {
        var (name, bytes) = images[index % images.Length];
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(MediaType(name));
        return new MultipartFormDataContent { { file, "image", name } };
    }

    private static string MediaType(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".bmp" => "image/bmp",
        ".webp" => "image/webp",
        _ => "image/jpeg",
    };
}
