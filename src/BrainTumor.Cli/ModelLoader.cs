using BrainTumor.Inference;

namespace BrainTumor.Cli;

internal static class ModelLoader
{
    /// <param name="model">A model package folder, or a bare name such as <c>lite-cnn</c> for the package of that folder
    /// name under <c>models</c> (found from the working directory or above the CLI's build output, as the server finds it).</param>
    public static ClassifierModel Load(string model)
    {
        string directory = PackageFolder(model);
        try
        {
            return ClassifierModel.Load(directory, new InferenceOptions { IntraOpThreads = Environment.ProcessorCount });
        }
        catch (ModelPackageException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    /// <summary>The package folder <paramref name="model"/> names (see <see cref="Load"/>).</summary>
    public static string PackageFolder(string model)
    {
        string directory = model;
        if (!Directory.Exists(directory) && IsBareName(model))
        {
            directory = Path.Combine(ModelCatalog.ResolveModelsDirectory("models", AppContext.BaseDirectory), model);
        }
        if (!Directory.Exists(directory))
        {
            throw new CliException($"Model '{model}' is neither a package folder nor the name of one under models/.");
        }
        return directory;
    }

    private static bool IsBareName(string model) =>
        model.Length > 0 && model.IndexOfAny([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]) < 0
        && model is not ("." or "..");
}
