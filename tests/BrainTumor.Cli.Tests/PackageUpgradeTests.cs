using BrainTumor.Models;
using BrainTumor.Tests;

namespace BrainTumor.Cli.Tests;

public sealed class PackageUpgradeTests : IDisposable
{
    private static readonly string LiteModel = Path.Combine(RepositoryPaths.Root, "models", "lite-cnn");
    private readonly string root = Directory.CreateTempSubdirectory("braintumor-upgrade-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void UpgradeWithATargetLayerMovesTheGradCamKeepsTheAnswersAndDropsWhatTheOldLayerMeasured()
    {
        string moved = Path.Combine(root, "lite-cnn-finer");

        var manifest = PackageUpgrade.Retarget(LiteModel, "block3_pw_relu", moved, TextWriter.Null);

        var written = ModelManifest.Read(Path.Combine(moved, ModelManifest.FileName));
        Assert.Equal("lite-cnn-finer", written.Name);
        Assert.Equal(new GradCamInfo("block3_pw_relu", 256, 14, 14), written.GradCam);
        Assert.Equal(manifest.Outputs, written.Outputs);
        // Measured on the old layer's maps and features, so no longer true of this package.
        Assert.Null(written.GradCamChecks);
        Assert.Null(written.PointingGame);
        Assert.Null(written.OutOfDistribution);
        Assert.Equal(["model.json", "model.onnx"], Directory.GetFiles(moved).Select(Path.GetFileName).Order());
        var before = PredictCommand.Run(LiteModel, [PublicSlice.Jpeg], "json", TextWriter.Null).Single();
        var after = PredictCommand.Run(moved, [PublicSlice.Jpeg], "json", TextWriter.Null).Single();
        Assert.Equal(before.Probabilities, after.Probabilities);
    }

    [Fact]
    public void UpgradeWithATargetLayerRefusesAnEightBitCopy()
    {
        string quantized = Path.Combine(RepositoryPaths.Root, "models", "resnet18-int8");

        var error = Assert.Throws<CliException>(
            () => PackageUpgrade.Retarget(quantized, "block1", Path.Combine(root, "x"), TextWriter.Null));

        Assert.Contains("8-bit copy", error.Message);
    }
}
