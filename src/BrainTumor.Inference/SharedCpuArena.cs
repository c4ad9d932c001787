using Microsoft.ML.OnnxRuntime;

namespace BrainTumor.Inference;

/// <summary>
/// One ONNX Runtime CPU arena for every session in the process (<c>session.use_env_allocators</c>), grown by what is asked rather
/// than doubled: each session's own arena kept its own peak, so nine packages held nine. With nine packages loaded the server
/// peaked at 1.08-1.20 GB without it and 0.95-0.98 GB with it and <c>MALLOC_ARENA_MAX=2</c>, at the same throughput
/// (docs/operations.md#memory).
/// </summary>
public static class SharedCpuArena
{
    private const int KSameAsRequested = 1;

    private static readonly Lazy<bool> Registered = new(() =>
    {
        using var arena = new OrtArenaCfg(0, KSameAsRequested, -1, -1);
        using var cpu = new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);
        OrtEnv.Instance().CreateAndRegisterAllocator(cpu, arena);
        return true;
    });

    /// <summary>
    /// Makes a session built with <paramref name="options"/> use the shared arena, registering it first (once per process).
    /// </summary>
    public static void UseIn(SessionOptions options)
    {
        _ = Registered.Value;
        options.AddSessionConfigEntry("session.use_env_allocators", "1");
    }
}
