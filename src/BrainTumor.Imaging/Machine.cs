using System.Runtime.InteropServices;

namespace BrainTumor.Imaging;

/// <summary>
/// Where a measurement ran. The same model ran 3-6x slower on an AVX2-only machine than on one with AVX-512, so
/// every timing and report names the CPU model and its vector extensions beside the core count.
/// </summary>
public static class Machine
{
    public static string Description { get; } =
        $"{Environment.ProcessorCount} cores, {Cpu()}, {RuntimeInformation.OSDescription}";

    private static string Cpu()
    {
        const string cpuInfo = "/proc/cpuinfo";
        if (!File.Exists(cpuInfo))
        {
            return $"{RuntimeInformation.ProcessArchitecture} CPU";
        }
        var lines = File.ReadLines(cpuInfo).ToList();
        string model = lines.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        var flags = lines.FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(':', 2)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet()
                    ?? [];
        string vectors = flags.Contains("avx512f") ? "AVX-512" : flags.Contains("avx2") ? "AVX2, no AVX-512" : "no AVX2";
        return $"{model} ({vectors})";
    }
}
