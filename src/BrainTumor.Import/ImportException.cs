namespace BrainTumor.Import;

/// <summary>A model that cannot be imported, or a bad import option; the message names the node or option.</summary>
public sealed class ImportException(string message) : Exception(message);
