namespace BrainTumor.Inference;

/// <summary>A model package that cannot be served; the message names the file and the problem.</summary>
public sealed class ModelPackageException(string message) : Exception(message);
