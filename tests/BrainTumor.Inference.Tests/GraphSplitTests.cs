using BrainTumor.Imaging;
using BrainTumor.Models;
using BrainTumor.Tests;
using Microsoft.ML.OnnxRuntime;

namespace BrainTumor.Inference.Tests;

/// <summary>A package's graph cut in two (a prediction runs only the first part) answers as the whole graph does.</summary>
public class GraphSplitTests
{
    public static TheoryData<string> Packages => ["custom-cnn-int8", "lite-cnn", "resnet18-int8"];

    /// <summary>Each package with an explicit and the default target class, and each map method.</summary>
    public static TheoryData<string, int?, CamMethod> Maps
    {
        get
        {
            var maps = new TheoryData<string, int?, CamMethod>();
            foreach (string package in Packages)
            {
                maps.Add(package, 1, CamMethod.GradCam);
                maps.Add(package, null, CamMethod.GradCam);
                maps.Add(package, 1, CamMethod.HiResCam);
                maps.Add(package, null, CamMethod.GradCamPlusPlus);
            }
            return maps;
        }
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void APredictionsProbabilitiesEqualTheWholeGraphs(string package)
    {
        using var model = Load(package);
        var image = NoiseImage(model);

        var prediction = model.Predict(image, withGradCam: false);

        Assert.True(model.IsSplit);
        var whole = RunWholeGraph(model, image, -1, model.Manifest.Outputs.Probabilities);
        AssertEqual(whole.Values[0], prediction.Probabilities);
    }

    [Theory]
    [MemberData(nameof(Maps))]
    public void AMapItsClassAndItsProbabilitiesEqualTheWholeGraphs(string package, int? targetClass, CamMethod method)
    {
        using var model = Load(package);
        var image = NoiseImage(model);

        var prediction = model.Predict(image, withGradCam: true, targetClass, method);

        Assert.True(model.IsSplit);
        var outputs = model.Manifest.Outputs;
        var whole = RunWholeGraph(model, image, targetClass ?? -1, outputs.Probabilities, outputs.Cam!, outputs.CamGradient!,
            outputs.CamActivation!);
        var layer = model.Manifest.GradCam;
        float[] map = method == CamMethod.GradCam
            ? whole.Values[1]
            : CamMethods.Compute(method, whole.Values[2], whole.Values[3], layer.Channels, layer.Height, layer.Width);
        AssertEqual(whole.Values[0], prediction.Probabilities);
        AssertEqual(map, prediction.GradCam!.Values);
        Assert.Equal(whole.CamClass, prediction.GradCam.ClassIndex);
    }

    private static ClassifierModel Load(string package) =>
        ClassifierModel.Load(Path.Combine(RepositoryPaths.Root, "models", package), new InferenceOptions { IntraOpThreads = 1 });

    private static RgbImage NoiseImage(ClassifierModel model)
    {
        var planes = new byte[3 * model.Manifest.Input.Width * model.Manifest.Input.Height];
        new Random(7).NextBytes(planes);
        return new RgbImage(model.Manifest.Input.Width, model.Manifest.Input.Height, planes);
    }

    /// <summary>
    /// One session over the package's whole ONNX file, as the server ran it before the cut, on one thread as the parts run here;
    /// the float outputs named and the class the map explains.
    /// </summary>
    private static (float[][] Values, long CamClass) RunWholeGraph(ClassifierModel model, RgbImage image, long targetClass,
        params string[] names)
    {
        var input = model.Manifest.Input;
        float[] tensor = new float[image.Planes.Length];
        image.WriteTensor(input.Normalization, tensor);
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(Path.Combine(model.Directory, ModelManifest.OnnxFileName), options);
        using var runOptions = new RunOptions();
        using var value = OrtValue.CreateTensorValueFromMemory(tensor, [1, 3, input.Height, input.Width]);
        using var target = OrtValue.CreateTensorValueFromMemory(new[] { targetClass }, [1]);
        using var outputs = session.Run(runOptions, [input.Name, model.Manifest.Outputs.TargetClass!], [value, target],
            [.. names, model.Manifest.Outputs.CamClass!]);
        return (outputs.Take(names.Length).Select(o => o.GetTensorDataAsSpan<float>().ToArray()).ToArray(),
            outputs[^1].GetTensorDataAsSpan<long>()[0]);
    }

    private static void AssertEqual(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.All(expected.Zip(actual), pair => Assert.Equal(pair.First, pair.Second, 1e-6f));
    }
}
