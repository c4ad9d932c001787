using BrainTumor.Imaging;
using BrainTumor.Tests;
using Microsoft.ML.OnnxRuntime;

namespace BrainTumor.Inference.Tests;

/// <summary>A package's graph cut in two (a prediction runs only the first part) answers as the whole graph does.</summary>
public class GraphSplitTests
{
    public static TheoryData<string> Packages => ["custom-cnn-int8", "lite-cnn", "resnet18-int8"];

    [Theory]
    [MemberData(nameof(Packages))]
    public void APredictionsProbabilitiesEqualTheWholeGraphs(string package)
    {
        using var model = Load(package);
        var image = NoiseImage(model);

        var prediction = model.Predict(image, withGradCam: false);

        var whole = RunWholeGraph(model, image, model.Manifest.Outputs.Probabilities);
        AssertEqual(whole[0], prediction.Probabilities);
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void AMapAndItsProbabilitiesEqualTheWholeGraphs(string package)
    {
        using var model = Load(package);
        var image = NoiseImage(model);

        var prediction = model.Predict(image, withGradCam: true, targetClass: 1);

        var outputs = model.Manifest.Outputs;
        var whole = RunWholeGraph(model, image, outputs.Probabilities, outputs.Cam!);
        AssertEqual(whole[0], prediction.Probabilities);
        AssertEqual(whole[1], prediction.GradCam!.Values);
        Assert.Equal(1, prediction.GradCam.ClassIndex);
    }

    private static ClassifierModel Load(string package) =>
        ClassifierModel.Load(Path.Combine(RepositoryPaths.Root, "models", package), new InferenceOptions { IntraOpThreads = 1 });

    private static RgbImage NoiseImage(ClassifierModel model)
    {
        var planes = new byte[3 * model.Manifest.Input.Width * model.Manifest.Input.Height];
        new Random(7).NextBytes(planes);
        return new RgbImage(model.Manifest.Input.Width, model.Manifest.Input.Height, planes);
    }

    /// <summary>One session over the package's whole model.onnx, as the server ran it before the cut; the map explains class 1.</summary>
    private static float[][] RunWholeGraph(ClassifierModel model, RgbImage image, params string[] names)
    {
        var input = model.Manifest.Input;
        float[] tensor = new float[image.Planes.Length];
        image.WriteTensor(input.Normalization, tensor);
        using var session = new InferenceSession(Path.Combine(model.Directory, "model.onnx"));
        using var runOptions = new RunOptions();
        using var value = OrtValue.CreateTensorValueFromMemory(tensor, [1, 3, input.Height, input.Width]);
        using var target = OrtValue.CreateTensorValueFromMemory(new[] { 1L }, [1]);
        using var outputs = session.Run(runOptions, [input.Name, model.Manifest.Outputs.TargetClass!], [value, target], names);
        return outputs.Select(o => o.GetTensorDataAsSpan<float>().ToArray()).ToArray();
    }

    private static void AssertEqual(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.All(expected.Zip(actual), pair => Assert.Equal(pair.First, pair.Second, 1e-6f));
    }
}
