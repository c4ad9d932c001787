using System.Net.Http.Headers;
using BrainTumor.Imaging;

namespace BrainTumor.LoadTests;

/// <summary>
/// Real MRI images, interleaved so that consecutive requests cycle through the classes. Images the service refuses before any
/// model runs (the Training data's head CT slices) are left out: they would be answered 422 and cost next to nothing.
/// </summary>
public sealed class RequestImages
{
    private readonly (string Name, byte[] Bytes)[] images;

    private RequestImages((string Name, byte[] Bytes)[] images) => this.images = images;

    public int Count => images.Length;
    public double AverageBytes => images.Average(i => i.Bytes.Length);

    /// <param name="perClass">Images read from each class folder (the first by name that the service would answer).</param>
    public static RequestImages Load(string folder, int perClass = 50)
    {
        List<string> Answerable(string directory) =>
            Directory.EnumerateFiles(directory).Where(ImageLoader.IsImageFile).Order(StringComparer.Ordinal).Where(IsAnswered)
                .Take(perClass).ToList();
        var classes = Directory.GetDirectories(folder).Order(StringComparer.Ordinal)
            .Select(Answerable)
            .Where(files => files.Count > 0)
            .ToList();
        if (classes.Count == 0)
        {
            var flat = Answerable(folder);
            classes = flat.Count > 0 ? [flat] : throw new LoadTestException($"No images in '{folder}' or its sub-folders.");
        }
        int longest = classes.Max(c => c.Count);
        var interleaved = Enumerable.Range(0, longest)
            .SelectMany(i => classes.Where(c => i < c.Count).Select(c => c[i]))
            .Select(path => (Path.GetFileName(path), File.ReadAllBytes(path)))
            .ToArray();
        return new RequestImages(interleaved);
    }

    private static bool IsAnswered(string path)
    {
        try
        {
            using var image = ImageLoader.Decode(File.ReadAllBytes(path));
            return SlicePlausibility.Problem(image) is null;
        }
        catch (ImageDecodeException)
        {
            return false;
        }
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
