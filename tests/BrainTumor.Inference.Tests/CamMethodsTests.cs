using BrainTumor.Models;
using BrainTumor.Tests;

namespace BrainTumor.Inference.Tests;

public sealed class CamMethodsTests
{
    [Theory]
    [InlineData(CamMethod.GradCam, "gradcam", "Grad-CAM")]
    [InlineData(CamMethod.HiResCam, "hirescam", "HiResCAM")]
    [InlineData(CamMethod.GradCamPlusPlus, "gradcampp", "Grad-CAM++")]
    public void EveryMethodHasANameThatParsesBackAndOneForPeople(CamMethod method, string name, string displayName)
    {
        Assert.Equal(name, method.Name());
        Assert.Equal(method, CamMethods.Parse(method.Name()));
        Assert.Equal(displayName, method.DisplayName());
    }

    // Two channels over a 1x2 map: gradient G and activation A, channels first.
    private static readonly float[] Gradient = [1f, -2f, 0.5f, 0.5f];
    private static readonly float[] Activation = [3f, 1f, 2f, 4f];

    [Fact]
    public void HiResCamIsTheElementWiseProductSummedOverChannelsThenReLU()
    {
        // Pixel 0: 1*3 + 0.5*2 = 4. Pixel 1: -2*1 + 0.5*4 = 0.
        Assert.Equal([4f, 0f], CamMethods.Compute(CamMethod.HiResCam, Gradient, Activation, 2, 1, 2));
    }

    [Fact]
    public void GradCamPlusPlusWeighsPositiveGradientsWithTheClosedFormAlphas()
    {
        // Channel 0: sum A = 4; pixel 0: g=1, alpha = 1 / (2 + 4) = 1/6, weight += 1/6; pixel 1: g=-2, alpha = 4 / (8 - 32) = -1/6,
        // times ReLU(-2) = 0. w0 = 1/6. Channel 1: sum A = 6; g=0.5: alpha = 0.25 / (0.5 + 6*0.125) = 0.2 at both pixels, w1 = 0.2.
        // Map: pixel 0 = 3/6 + 0.2*2 = 0.9; pixel 1 = 1/6 + 0.2*4 = 0.9667.
        var map = CamMethods.Compute(CamMethod.GradCamPlusPlus, Gradient, Activation, 2, 1, 2);

        Assert.Equal(0.9, map[0], 5);
        Assert.Equal(1 / 6.0 + 0.8, map[1], 5);
    }

    [Fact]
    public void GradCamItselfIsLeftToTheModelsGraph()
    {
        Assert.Throws<ArgumentException>(() => CamMethods.Compute(CamMethod.GradCam, Gradient, Activation, 2, 1, 2));
    }

    [Fact]
    public void NamesParseToTheirMethodsAndOthersToNothing()
    {
        Assert.Equal(CamMethod.GradCamPlusPlus, CamMethods.Parse("GradCamPP"));
        Assert.Equal(CamMethod.HiResCam, CamMethods.Parse("hirescam"));
        Assert.Null(CamMethods.Parse("scorecam"));
    }
}

public sealed class DefaultCamMethodTests
{
    private static GradCamChecks Checked(string method, int failures) =>
        new(method, "data", 40, [], 0, 0, 1, 40, GradCamCheckThresholds.Default, failures == 0,
            Enumerable.Repeat("failed", failures).ToList(), DateTimeOffset.UnixEpoch, "test");

    private static readonly ModelManifest Shipped =
        ModelManifest.Read(Path.Combine(RepositoryPaths.Root, "models", "lite-cnn", ModelManifest.FileName));

    private static ModelManifest With(params GradCamChecks[] checks) =>
        Shipped with { GradCamChecks = checks.Length == 0 ? null : checks, PointingGame = null };

    private static LesionPointingResult Pointing(string method, double hitRate) =>
        new(method, "boxes.csv", "data", 100, (int)(hitRate * 100), hitRate, 0, 1, 0.1, 0.05, DateTimeOffset.UnixEpoch);

    [Fact]
    public void AModelWithoutChecksExplainsWithGradCam() => Assert.Equal("gradcam", With().DefaultCamMethod);

    [Fact]
    public void TheMethodThatFailedFewestChecksIsTheDefault() =>
        Assert.Equal("hirescam", With(Checked("gradcam", 4), Checked("hirescam", 2), Checked("gradcampp", 5)).DefaultCamMethod);

    [Fact]
    public void GradCamWinsATie() =>
        Assert.Equal("gradcam", With(Checked("hirescam", 1), Checked("gradcam", 1), Checked("gradcampp", 4)).DefaultCamMethod);

    [Fact]
    public void FailuresAddUpOverEveryCheckedDataSet() =>
        Assert.Equal("gradcam",
            With(Checked("gradcam", 1), Checked("hirescam", 0), Checked("gradcam", 0), Checked("hirescam", 2)).DefaultCamMethod);

    [Fact]
    public void AmongMethodsWithEqualFailuresTheOneThatPointsAtTheLesionMostOftenIsTheDefault() =>
        Assert.Equal("gradcampp", (With(Checked("gradcam", 1), Checked("gradcampp", 1), Checked("hirescam", 3)) with
        {
            PointingGame = [Pointing("gradcam", 0.55), Pointing("gradcampp", 0.61), Pointing("hirescam", 0.9)],
        }).DefaultCamMethod);

    [Fact]
    public void FewerFailedChecksOutweighABetterPointingGame() =>
        Assert.Equal("gradcam", (With(Checked("gradcam", 0), Checked("gradcampp", 1)) with
        {
            PointingGame = [Pointing("gradcam", 0.2), Pointing("gradcampp", 0.9)],
        }).DefaultCamMethod);

    [Fact]
    public void WithoutSanityChecksThePointingGameAloneDoesNotChooseAndGradCamStays() =>
        Assert.Equal("gradcam", (With() with { PointingGame = [Pointing("gradcam", 0.5), Pointing("gradcampp", 0.7)] }).DefaultCamMethod);
}
