using System.Runtime.InteropServices;

namespace BrainTumor.Training;

/// <summary>
/// glibc serves every block over 32 MB with its own mmap and unmaps it on free, so each training step
/// page-faults its large activations (200 MB for paper-cnn's first layer at 224x224) back in: measured
/// here, a third of a paper-cnn step went to the kernel. Keeping freed blocks in the heap removes that
/// (the same effect as preloading tcmalloc) at the price of holding the peak memory until exit.
/// </summary>
public static class NativeAllocator
{
    private const int MmapMax = -4;
    private const int TrimThreshold = -1;

    /// <returns>Whether the C library took the settings (false off glibc, where nothing changes).</returns>
    public static bool KeepFreedBlocksForReuse()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            return mallopt(MmapMax, 0) == 1 && mallopt(TrimThreshold, int.MaxValue) == 1;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc")]
    private static extern int mallopt(int parameter, int value);
}
