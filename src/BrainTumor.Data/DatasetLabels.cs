namespace BrainTumor.Data;

public static class DatasetLabels
{
    /// <summary>The class order of every model this project trains: the index of a label is its output.</summary>
    public static IReadOnlyList<string> BrainTumor { get; } =
        ["glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor"];
}
