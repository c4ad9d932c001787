namespace BrainTumor.Training;

/// <summary>A problem with the user's input (folders, options, checkpoints), reported as one line.</summary>
public sealed class TrainingException(string message) : Exception(message);
