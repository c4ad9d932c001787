using BrainTumor.Inference;

namespace BrainTumor.Cli;

internal static class ModelLoader
{
    public static ClassifierModel Load(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new CliException($"Model folder '{directory}' does not exist.");
        }
        try
        {
            return ClassifierModel.Load(directory, new InferenceOptions { IntraOpThreads = Environment.ProcessorCount });
        }
        catch (ModelPackageException ex)
        {
            throw new CliException(ex.Message);
        }
    }
}
