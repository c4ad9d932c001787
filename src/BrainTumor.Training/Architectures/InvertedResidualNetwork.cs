using BrainTumor.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BrainTumor.Training.Architectures;

/// <summary>One block of an <see cref="InvertedResidualNetwork"/>, which describes itself for export.</summary>
public abstract class InvertedResidualBlock(string name) : nn.Module<Tensor, Tensor>(name)
{
    public abstract IEnumerable<NetworkLayer> Describe(string name);
}

/// <summary>
/// The frame MobileNetV2 and EfficientNet-B0 share: a strided 3x3 stem to 32 channels, a stack of inverted-residual blocks,
/// a 1x1 convolution to 1280 channels whose activation Grad-CAM explains, dropout 0.2 and the classifier. The two differ in
/// their blocks and their activation (ReLU6, SiLU).
/// </summary>
public abstract class InvertedResidualNetwork : ClassifierNetwork
{
    protected const int StemChannels = 32;
    private const int LastChannels = 1280;

    private readonly ConvNorm stem, last;
    private readonly ModuleList<InvertedResidualBlock> blocks = new();
    private readonly Dropout dropout;
    private readonly Linear classifier;
    private readonly int imageSize;
    private readonly Func<Tensor, Tensor> activation;
    private readonly Func<string, NetworkLayer> activationLayer;
    private readonly string activationName;

    /// <param name="blocks">The blocks in order, from <see cref="StemChannels"/> input channels to
    /// <paramref name="blockChannels"/>.</param>
    /// <param name="activationName">Suffix of the activation layers' names (<c>relu6</c>, <c>silu</c>).</param>
    protected InvertedResidualNetwork(string name, int imageSize, int classes, IEnumerable<InvertedResidualBlock> blocks, int blockChannels,
        Func<Tensor, Tensor> activation, Func<string, NetworkLayer> activationLayer, string activationName) : base(name)
    {
        if (imageSize < 32)
        {
            throw new TrainingException($"{name} needs images of at least 32x32, not {imageSize}.");
        }
        this.imageSize = imageSize;
        this.activation = activation;
        this.activationLayer = activationLayer;
        this.activationName = activationName;
        stem = new ConvNorm("stem", 3, StemChannels, 3, 2);
        foreach (var block in blocks)
        {
            this.blocks.Add(block);
        }
        last = new ConvNorm("last", blockChannels, LastChannels, 1, 1);
        dropout = nn.Dropout(0.2);
        classifier = nn.Linear(LastChannels, classes);
        RegisterComponents();
    }

    public override int ImageSize => imageSize;

    public override string GradCamLayer => $"last_{activationName}";

    public override (Tensor Activation, Tensor Logits) ForwardWithActivation(Tensor input)
    {
        var x = activation(stem.call(input));
        foreach (var block in blocks)
        {
            x = block.call(x);
        }
        x = activation(last.call(x));
        return (x, classifier.call(dropout.call(F.adaptive_avg_pool2d(x, 1).flatten(1))));
    }

    public override SequentialNetwork Describe()
    {
        var layers = new List<NetworkLayer> { stem.Describe("stem"), activationLayer($"stem_{activationName}") };
        for (int i = 0; i < blocks.Count; i++)
        {
            layers.AddRange(blocks[i].Describe($"block{i + 1}"));
        }
        layers.AddRange([last.Describe("last"), activationLayer(GradCamLayer)]);
        return WithClassifierHead(layers, classifier, imageSize);
    }
}
