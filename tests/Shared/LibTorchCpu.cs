namespace BrainTumor.Tests;

/// <summary>
/// LibTorch 2.10's CPU kernels stop the whole process with SIGFPE (an integer divide error inside libtorch_cpu.so) in
/// ResNet-50's backward pass and in DenseNet-121's channels-last passes on AMD Zen 5: measured 2026-12-05 on an EPYC with
/// avx512_vp2intersect, from the commit before as well, while the same tests passed on earlier Zen 4 and Xeon machines. A
/// crash cannot be caught, so the tests that train those two networks are skipped on such CPUs, and say so.
/// </summary>
public static class LibTorchCpu
{
    public static bool CrashesInResNet50AndDenseNet121 { get; } =
        File.Exists("/proc/cpuinfo") && File.ReadAllText("/proc/cpuinfo").Contains("avx512_vp2intersect", StringComparison.Ordinal);

    public const string Reason =
        "LibTorch 2.10 dies with SIGFPE in ResNet-50 and DenseNet-121 passes on this CPU (Zen 5, avx512_vp2intersect); see LibTorchCpu.";

    public static bool Crashes(string architecture) => CrashesInResNet50AndDenseNet121 && architecture is "resnet50" or "densenet121";
}
