using System.Runtime.InteropServices;

namespace BrainTumor.Imaging;

/// <summary>
/// Where a measurement ran. The same model ran 3-6x slower on an AVX2-only machine than on one with AVX-512, so
/// every timing and report names the CPU model and its vector extensions beside the core count.
/// </summary>
public static class Machine
{
    private const string CpuInfo = "/proc/cpuinfo";

    public static string Description { get; } =
        $"{Environment.ProcessorCount} cores, {Cpu()}, {RuntimeInformation.OSDescription}";

    /// <summary>The instruction-set flags that decide how fast ONNX Runtime's float and 8-bit kernels run, as /proc/cpuinfo names
    /// them.</summary>
    public static IReadOnlyList<string> KernelFlags { get; } =
        ["avx2", "fma", "avx_vnni", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_int8"];

    /// <summary>Of <see cref="KernelFlags"/>, those this CPU has.</summary>
    public static IReadOnlyList<string> Flags { get; } = KernelFlags.Intersect(CpuFlags()).ToList();

    private static string Cpu()
    {
        if (!File.Exists(CpuInfo))
        {
            return $"{RuntimeInformation.ProcessArchitecture} CPU";
        }
        string model = File.ReadLines(CpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
            ?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        var flags = CpuFlags();
        string vectors = flags.Contains("avx512f") ? "AVX-512" : flags.Contains("avx2") ? "AVX2, no AVX-512" : "no AVX2";
        return $"{model} ({vectors})";
    }

    private static HashSet<string> CpuFlags()
    {
        return File.Exists(CpuInfo)
            ? File.ReadLines(CpuInfo).FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(':', 2)[1]
                .Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal) ?? []
            : [];
    }
}
