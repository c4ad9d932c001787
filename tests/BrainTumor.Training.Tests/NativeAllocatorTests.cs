namespace BrainTumor.Training.Tests;

public class NativeAllocatorTests
{
    [Fact]
    public void OnLinuxTheAllocatorTakesTheSettingsAndElsewhereNothingChanges()
    {
        Assert.Equal(OperatingSystem.IsLinux(), NativeAllocator.KeepFreedBlocksForReuse());
    }
}
