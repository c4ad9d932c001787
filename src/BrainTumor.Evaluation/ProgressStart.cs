namespace BrainTumor.Evaluation;

/// <summary>
/// Shows how far a long loop is: called with its number of steps and what they are, it returns what to call with the steps
/// done so far. The CLI draws a bar on stderr; the evaluations themselves never write to the console.
/// </summary>
public delegate Action<int> ProgressStart(int total, string what);
