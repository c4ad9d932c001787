using BrainTumor.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BrainTumor.Training.Architectures;

/// <summary>
/// The paper's family of plain CNNs: 3x3 convolutions (valid, or 'same' with padding 1) with ReLU, 2x2 max
/// pooling after each, flatten, one dense ReLU layer and a dense output. Grad-CAM explains the last
/// convolution's ReLU output.
/// </summary>
public sealed class ConvStackNetwork : ClassifierNetwork
{
    private const int Kernel = 3;
    private const int Pool = 2;

    private readonly ModuleList<Conv2d> convolutions = new();
    private readonly Linear hidden;
    private readonly Linear output;
    private readonly int imageSize;
    private readonly int padding;

    /// <param name="samePadding">Pad each convolution by one pixel so that it keeps the map's size.</param>
    public ConvStackNetwork(string architecture, int imageSize, IReadOnlyList<int> channels, int hiddenUnits, int classes,
        bool samePadding = false)
        : base(architecture)
    {
        this.imageSize = imageSize;
        padding = samePadding ? 1 : 0;
        int inChannels = 3;
        int side = imageSize;
        foreach (int outChannels in channels)
        {
            convolutions.Add(nn.Conv2d(inChannels, outChannels, Kernel, padding: padding));
            inChannels = outChannels;
            side = (side - Kernel + 1 + 2 * padding) / Pool;
        }
        if (side < 1)
        {
            throw new TrainingException($"Architecture '{architecture}' needs larger images than {imageSize}x{imageSize}.");
        }
        hidden = nn.Linear(inChannels * side * side, hiddenUnits);
        output = nn.Linear(hiddenUnits, classes);
        RegisterComponents();
    }

    public override int ImageSize => imageSize;

    public override string GradCamLayer => $"relu{convolutions.Count}";

    public override (Tensor Activation, Tensor Logits) ForwardWithActivation(Tensor input)
    {
        Tensor x = input;
        for (int i = 0; i < convolutions.Count; i++)
        {
            x = F.relu(convolutions[i].call(x));
            if (i < convolutions.Count - 1)
            {
                x = F.max_pool2d(x, Pool, Pool);
            }
        }
        Tensor activation = x;
        x = F.max_pool2d(activation, Pool, Pool).flatten(1);
        x = F.relu(hidden.call(x));
        return (activation, output.call(x));
    }

    public override SequentialNetwork Describe()
    {
        var layers = new List<NetworkLayer>();
        for (int i = 0; i < convolutions.Count; i++)
        {
            var conv = convolutions[i];
            var shape = conv.weight!.shape;
            layers.Add(new Conv2dLayer($"conv{i + 1}", (int)shape[1], (int)shape[0], Kernel, 1, padding, Values(conv.weight),
                Values(conv.bias!)));
            layers.Add(new ReluLayer($"relu{i + 1}"));
            layers.Add(new MaxPoolLayer($"pool{i + 1}", Pool, Pool));
        }
        int gradCamIndex = layers.Count - 2;
        layers.Add(new FlattenLayer("flatten"));
        layers.Add(Dense("dense1", hidden));
        layers.Add(new ReluLayer("dense1_relu"));
        layers.Add(Dense("dense2", output));
        return new SequentialNetwork(3, imageSize, imageSize, layers, gradCamIndex);
    }

    private static DenseLayer Dense(string name, Linear linear) =>
        new(name, (int)linear.in_features, (int)linear.out_features, Values(linear.weight!), Values(linear.bias!));
}
