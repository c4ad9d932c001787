namespace BrainTumor.Evaluation;

/// <summary>Images, boxes or runs an evaluation cannot use as given; the message says why in one line, which the CLI prints.</summary>
public sealed class EvaluationException(string message) : Exception(message);
