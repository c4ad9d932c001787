namespace BrainTumor.Data;

/// <summary>A problem with a dataset folder or a split request, reported as one line.</summary>
public sealed class DatasetException(string message) : Exception(message);
