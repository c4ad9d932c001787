namespace BrainTumor.Inference;

/// <summary>Enums the API and CLI take by name: a list of lower-case names in the enum's order.</summary>
public static class NamedChoices
{
    /// <summary>The value whose name is <paramref name="name"/>, in any case; null for a name not in <paramref name="names"/>.</summary>
    public static T? Parse<T>(string[] names, string name) where T : struct, Enum =>
        Array.IndexOf(names, name.ToLowerInvariant()) is int index and >= 0 ? (T)Enum.ToObject(typeof(T), index) : null;
}
