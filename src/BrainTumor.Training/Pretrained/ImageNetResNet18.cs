using System.Security.Cryptography;
using BrainTumor.Onnx;
using BrainTumor.Onnx.Proto;

namespace BrainTumor.Training.Pretrained;

/// <summary>A convolution and the batch normalisation after it, as the ImageNet export stores them (PyTorch layouts).</summary>
public sealed record PretrainedConvNorm(long[] WeightShape, float[] Weight, float[] Scale, float[] Shift, float[] Mean, float[] Variance);

/// <summary>
/// The ImageNet ResNet-18 of the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 (MIT), a CNTK export at opset 8 that
/// ends in the pooled 512 features. Its last stage has three basic blocks, not torchvision's two. The build downloads the package
/// (<c>PackageDownload</c>) and copies its two ONNX files
/// beside the assembly; they are never committed. CNTK pads asymmetrically (the stem 3,3 before and 2,2 after; the
/// stride-2 3x3 convolutions and the max pool 1 before, 0 after), which on even input sizes reads exactly the windows
/// of PyTorch's symmetric padding: the extra padding after is never reached.
/// </summary>
public sealed class ImageNetResNet18
{
    public const string Package = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
    public const string PackageVersion = "0.24.0";
    public const string InputName = "Input247";
    public const string FeaturesName = "Pooling395_Output_0";

    /// <summary>Where the build put the network (<c>ResNet18.onnx</c>) and its preprocessing (<c>ResNetPreprocess.onnx</c>).</summary>
    public static string Folder { get; } = Path.Combine(AppContext.BaseDirectory, "DnnImageModels");

    public static string NetworkPath => Path.Combine(Folder, "ResNet18Onnx", "ResNet18.onnx");
    public static string PreprocessingPath => Path.Combine(Folder, "ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>The stem, then the two 3x3 convolutions of each of the 9 basic blocks (2-2-2-3), in the order they run.</summary>
    public required IReadOnlyList<PretrainedConvNorm> Convolutions { get; init; }

    /// <summary>The 1x1 stride-2 projections of the first block of stages 2, 3 and 4.</summary>
    public required IReadOnlyList<PretrainedConvNorm> Projections { get; init; }

    /// <summary>Per-channel means of the preprocessing's mean image on 0-255 pixels, in the network's BGR order.</summary>
    public required float[] MeanBgr { get; init; }

    public required string Sha256 { get; init; }

    /// <summary>Provenance for manifests and reports.</summary>
    public string Source => $"ImageNet ResNet-18 from NuGet {Package} {PackageVersion} (ResNet18.onnx, SHA-256 {Sha256})";

    private static ImageNetResNet18? loaded;
    private static readonly Lock loading = new();

    /// <summary>Reads the package's files once per process.</summary>
    public static ImageNetResNet18 Load()
    {
        lock (loading)
        {
            return loaded ??= Read(NetworkPath, PreprocessingPath);
        }
    }

    public static ImageNetResNet18 Read(string networkPath, string preprocessingPath)
    {
        if (!File.Exists(networkPath) || !File.Exists(preprocessingPath))
        {
            throw new TrainingException($"The ImageNet ResNet-18 is not at {Path.GetDirectoryName(Path.GetDirectoryName(networkPath))}; " +
                                        $"the build restores it from NuGet ({Package} {PackageVersion}): run dotnet build.");
        }
        byte[] bytes = File.ReadAllBytes(networkPath);
        var graph = ModelProto.Parser.ParseFrom(bytes).Graph;
        var initialisers = graph.Initializer.ToDictionary(t => t.Name);
        var producers = GraphPruning.Producers(graph);
        var consumers = graph.Node.SelectMany(n => n.Input.Select(i => (i, n))).ToLookup(p => p.i, p => p.n);
        var convolutions = new List<PretrainedConvNorm>();
        var projections = new List<PretrainedConvNorm>();
        foreach (var conv in graph.Node.Where(n => n.OpType == "Conv"))
        {
            var norm = consumers[conv.Output[0]].SingleOrDefault(n => n.OpType == "BatchNormalization")
                ?? throw new TrainingException($"{conv.Name} in {networkPath} is not followed by batch normalisation.");
            var weight = initialisers[conv.Input[1]];
            var entry = new PretrainedConvNorm([.. weight.Dims], Floats(weight), Floats(initialisers[norm.Input[1]]),
                Floats(initialisers[norm.Input[2]]), Floats(initialisers[norm.Input[3]]), Floats(initialisers[norm.Input[4]]));
            (weight.Dims[2] == 1 ? projections : convolutions).Add(entry);
        }
        if (convolutions.Count != 19 || projections.Count != 3)
        {
            throw new TrainingException($"{networkPath} is not the expected ResNet-18: {convolutions.Count} 3x3 or 7x7 " +
                $"and {projections.Count} 1x1 convolutions, not 19 and 3.");
        }
        var mean = ModelProto.Parser.ParseFrom(File.ReadAllBytes(preprocessingPath)).Graph.Initializer.Single(t => t.Name == "MeanImage");
        float[] meanImage = Floats(mean);
        int plane = meanImage.Length / 3;
        var meanBgr = Enumerable.Range(0, 3)
            .Select(c => (float)meanImage.AsSpan(c * plane, plane).ToArray().Average(v => (double)v)).ToArray();
        return new ImageNetResNet18
        {
            Convolutions = convolutions,
            Projections = projections,
            MeanBgr = meanBgr,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
        };
    }

    private static float[] Floats(TensorProto tensor)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float)
        {
            throw new TrainingException($"Initialiser {tensor.Name} is not float.");
        }
        return tensor.RawData.IsEmpty
            ? [.. tensor.FloatData]
            : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
    }
}
