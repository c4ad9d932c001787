namespace BrainTumor.Cli;

/// <summary>A problem with the user's input, reported as one line.</summary>
public sealed class CliException(string message) : Exception(message);
