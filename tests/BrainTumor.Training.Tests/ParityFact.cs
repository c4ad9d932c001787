using BrainTumor.Tests;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace BrainTumor.Training.Tests;

/// <summary>
/// A fact of an export parity class, skipped without the dataset (<see cref="DatasetAbsence"/>), which the class's network is
/// trained on, and where LibTorch cannot train that network (<see cref="LibTorchCpu"/>): the facts are declared once on the
/// base class, so only the discoverer sees which network's class runs them.
/// </summary>
[XunitTestCaseDiscoverer("BrainTumor.Training.Tests.ParityFactDiscoverer", "BrainTumor.Training.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ParityFactAttribute : FactAttribute
{
    public ParityFactAttribute()
    {
        Skip = DatasetAbsence.Reason;
    }
}

public sealed class ParityFactDiscoverer(IMessageSink diagnostics) : IXunitTestCaseDiscoverer
{
    private static readonly Dictionary<string, string> Architectures = new()
    {
        [nameof(ResNet50ExportParityTests)] = "resnet50",
        [nameof(DenseNet121ExportParityTests)] = "densenet121",
    };

    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions options, ITestMethod testMethod,
        IAttributeInfo factAttribute)
    {
        var display = options.MethodDisplayOrDefault();
        var displayOptions = options.MethodDisplayOptionsOrDefault();
        string className = testMethod.TestClass.Class.Name.Split('.')[^1];
        if (Architectures.TryGetValue(className, out var architecture) && LibTorchCpu.Crashes(architecture))
        {
            return [new XunitSkippedDataRowTestCase(diagnostics, display, displayOptions, testMethod, LibTorchCpu.Reason)];
        }
        return [new XunitTestCase(diagnostics, display, displayOptions, testMethod)];
    }
}

/// <summary>A theory about ResNet-50 or DenseNet-121, skipped where LibTorch dies running them (<see cref="LibTorchCpu"/>).</summary>
public sealed class TheoryWhereLibTorchRunsResNet50Attribute : TheoryAttribute
{
    public TheoryWhereLibTorchRunsResNet50Attribute()
    {
        if (LibTorchCpu.CrashesInResNet50AndDenseNet121)
        {
            Skip = LibTorchCpu.Reason;
        }
    }
}
