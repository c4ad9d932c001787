using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using BrainTumor.Imaging;

namespace BrainTumor.Data;

/// <param name="Sha256">Hash of the file's bytes: identical files are the same image wherever they sit.</param>
public sealed record LabelledImage(string RelativePath, int Label, string Sha256, RgbImage Image);

/// <summary>
/// Images of a <c>&lt;root&gt;/&lt;label&gt;/*</c> folder, decoded once, resized to the model's input size
/// and kept in memory as 8-bit planes (2,870 images at 224x224 take about 430 MB).
/// </summary>
public sealed class ImageFolderDataset
{
    private ImageFolderDataset(string root, IReadOnlyList<string> labels, int imageSize,
        IReadOnlyList<LabelledImage> samples, IReadOnlyList<string> skipped)
    {
        Root = root;
        Labels = labels;
        ImageSize = imageSize;
        Samples = samples;
        Skipped = skipped;
    }

    public string Root { get; }
    public IReadOnlyList<string> Labels { get; }
    public int ImageSize { get; }
    public IReadOnlyList<LabelledImage> Samples { get; }

    /// <summary>Files that could not be decoded, each with the reason; they are left out.</summary>
    public IReadOnlyList<string> Skipped { get; }

    /// <summary>
    /// A fingerprint of the dataset's content: SHA-256 over the sorted (label, image hash) pairs, so it
    /// does not depend on file names, order or location.
    /// </summary>
    public string ContentSha256() => ContentSha256(Samples.Select(s => (Labels[s.Label], s.Sha256)));

    /// <summary>
    /// The stratified, duplicate-aware hold-out that training takes from these images; evaluation, the out-of-distribution fit,
    /// the shift benchmark and ensembles rebuild a package's split with the fraction and seed its manifest records.
    /// </summary>
    public DuplicateAwareSplit.Split HoldOut(double validationFraction, int seed) =>
        DuplicateAwareSplit.StratifiedHoldout(Samples.Select(s => (s.Label, s.Sha256)).ToList(), validationFraction, seed);

    /// <summary>
    /// <see cref="ContentSha256()"/> of the folder as <see cref="Load"/> would read it, from the files' bytes alone,
    /// without decoding: equal to the loaded dataset's when every file decodes. Seconds instead of a minute for the
    /// 2,870 Training images, for checks that must run before loading.
    /// </summary>
    public static string FilesContentSha256(string root, IReadOnlyList<string> labels) =>
        ContentSha256(labels.SelectMany(label => Directory.Exists(Path.Combine(root, label))
            ? Directory.EnumerateFiles(Path.Combine(root, label)).Where(ImageLoader.IsImageFile)
                .Select(file => (label, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)))))
            : []));

    private static string ContentSha256(IEnumerable<(string Label, string Sha256)> images)
    {
        var lines = images.Select(image => $"{image.Label},{image.Sha256}").Order(StringComparer.Ordinal);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", lines))));
    }

    /// <summary>
    /// SHA-256 of the <c>manifest.csv</c> that ships with the dataset (in the root or the folder above it),
    /// or null when there is none.
    /// </summary>
    public string? ManifestSha256()
    {
        var candidates = new[]
        {
            Path.Combine(Root, "manifest.csv"),
            Path.Combine(Path.GetDirectoryName(Path.GetFullPath(Root).TrimEnd('/'))!, "manifest.csv"),
        };
        var manifest = candidates.FirstOrDefault(File.Exists);
        return manifest is null ? null : Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(manifest)));
    }

    /// <param name="maxPerClass">Take at most this many images per class (the first by file name); for quick runs.</param>
    /// <param name="warn">Told about every file that is skipped.</param>
    /// <param name="preprocessing">How each decoded image becomes input pixels (default: <see cref="Preprocessing.Stretch"/>).</param>
    /// <param name="scaledDecoding">Decode a JPEG at the smallest of <see cref="ImageLoader.JpegScales"/> that is still at least
    /// <paramref name="imageSize"/> on each side, as the server does; training decodes at full size.</param>
    public static ImageFolderDataset Load(string root, IReadOnlyList<string> labels, int imageSize,
        int? maxPerClass = null, Action<string>? warn = null, Preprocessing? preprocessing = null, bool scaledDecoding = false)
    {
        if (!Directory.Exists(root))
        {
            throw new DatasetException($"Data folder '{root}' does not exist.");
        }
        var files = new List<(string Path, int Label)>();
        for (int label = 0; label < labels.Count; label++)
        {
            string folder = Path.Combine(root, labels[label]);
            if (!Directory.Exists(folder))
            {
                throw new DatasetException(
                    $"Class folder '{folder}' does not exist (expected one folder per label: {string.Join(", ", labels)}).");
            }
            var images = Directory.EnumerateFiles(folder)
                .Where(ImageLoader.IsImageFile)
                .Order(StringComparer.Ordinal)
                .Take(maxPerClass ?? int.MaxValue)
                .ToList();
            if (images.Count == 0)
            {
                throw new DatasetException($"Class folder '{folder}' has no images ({ImageLoader.FileExtensionList}).");
            }
            files.AddRange(images.Select(f => (f, label)));
        }

        var loaded = new LabelledImage?[files.Count];
        var skipped = new ConcurrentBag<string>();
        Parallel.For(0, files.Count, i =>
        {
            var (path, label) = files[i];
            string relative = Path.GetRelativePath(root, path);
            try
            {
                byte[] bytes = File.ReadAllBytes(path);
                using var decoded = ImageLoader.Decode(bytes, atLeast: scaledDecoding ? new SkiaSharp.SKSizeI(imageSize, imageSize) : null);
                var image = (preprocessing ?? Preprocessing.Stretch).Prepare(decoded, imageSize, imageSize).Pixels;
                loaded[i] = new LabelledImage(relative, label, Convert.ToHexStringLower(SHA256.HashData(bytes)), image);
            }
            catch (Exception ex) when (ex is ImageDecodeException or IOException or UnauthorizedAccessException)
            {
                skipped.Add($"{relative}: {ex.Message}");
            }
        });

        var skippedSorted = skipped.Order(StringComparer.Ordinal).ToList();
        foreach (var line in skippedSorted)
        {
            warn?.Invoke($"skipped unreadable image {line}");
        }
        var samples = loaded.OfType<LabelledImage>().ToList();
        for (int label = 0; label < labels.Count; label++)
        {
            if (!samples.Any(s => s.Label == label))
            {
                throw new DatasetException($"Class '{labels[label]}' has no readable images.");
            }
        }
        return new ImageFolderDataset(root, labels, imageSize, samples, skippedSorted);
    }
}
