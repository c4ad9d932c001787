namespace BrainTumor.Tests;

/// <summary>
/// A real MR slice that can be committed: pydicom's public MR_small.dcm test file, rendered (tests/assets/README.md). The service
/// answers it (200, flagged as unlike the training slices), so tests that need some slice, not the dataset's content, run without
/// the dataset.
/// </summary>
public static class PublicSlice
{
    /// <summary>The folder of the committed slices, for tools that read a folder of images.</summary>
    public static string Folder { get; } = Path.Combine(RepositoryPaths.Root, "tests", "assets");

    /// <summary>512x512 greyscale JPEG, the size of most Training images.</summary>
    public static string Jpeg { get; } = Path.Combine(Folder, "pydicom-mr-small-512.jpg");

    /// <summary>256x256 greyscale PNG, also the viewer's screenshot slice.</summary>
    public static string Png { get; } = Path.Combine(Folder, "pydicom-mr-small-axial.png");
}
