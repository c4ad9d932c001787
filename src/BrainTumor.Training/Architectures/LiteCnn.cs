using BrainTumor.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BrainTumor.Training.Architectures;

/// <summary>
/// The project's own light network: a strided 3x3 stem and one full 3x3 convolution, then
/// depthwise-separable blocks, all with batch normalisation and ReLU, global average pooling and one
/// dense layer. About 0.22 GFLOPs per 224x224 image (the paper's CNN: 2.7), Grad-CAM at 14x14x256.
/// Batch normalisation is folded into the convolutions on export.
/// </summary>
public sealed class LiteCnn : ClassifierNetwork
{
    /// <summary>One convolution with batch normalisation and ReLU, as exported.</summary>
    private sealed record Unit(Conv2d Conv, BatchNorm2d Norm, string Name, int Stride, int Padding, int Groups, bool PoolAfter);

    private readonly ModuleList<Conv2d> convolutions = new();
    private readonly ModuleList<BatchNorm2d> norms = new();
    private readonly Linear classifier;
    private readonly Dropout dropout;
    private readonly List<Unit> units = [];
    private readonly int imageSize;

    public LiteCnn(int imageSize, int classes) : base("lite-cnn")
    {
        if (imageSize % 16 != 0 || imageSize < 64)
        {
            throw new TrainingException($"lite-cnn needs an image size that is a multiple of 16 and at least 64, not {imageSize}.");
        }
        this.imageSize = imageSize;
        Add("stem", 3, 32, 3, 2, poolAfter: true);
        Add("conv", 32, 64, 3, 1, poolAfter: true);
        Add("block1_dw", 64, 64, 3, 1, groups: 64);
        Add("block1_pw", 64, 128, 1, 1);
        Add("block2_dw", 128, 128, 3, 2, groups: 128);
        Add("block2_pw", 128, 256, 1, 1);
        Add("block3_dw", 256, 256, 3, 1, groups: 256);
        Add("block3_pw", 256, 256, 1, 1);
        Add("block4_dw", 256, 256, 3, 1, groups: 256);
        Add("block4_pw", 256, 256, 1, 1);
        dropout = nn.Dropout(0.2);
        classifier = nn.Linear(256, classes);
        RegisterComponents();
    }

    public override int ImageSize => imageSize;

    public override string GradCamLayer => "block4_pw_relu";

    public override (Tensor Activation, Tensor Logits) ForwardWithActivation(Tensor input)
    {
        Tensor x = input;
        foreach (var unit in units)
        {
            x = F.relu(unit.Norm.call(unit.Conv.call(x)));
            if (unit.PoolAfter)
            {
                x = F.max_pool2d(x, 2, 2);
            }
        }
        var pooled = F.adaptive_avg_pool2d(x, 1).flatten(1);
        return (x, classifier.call(dropout.call(pooled)));
    }

    public override SequentialNetwork Describe()
    {
        var layers = new List<NetworkLayer>();
        foreach (var unit in units)
        {
            var (weight, bias) = FoldBatchNorm(unit.Conv, unit.Norm);
            var shape = unit.Conv.weight!.shape;
            layers.Add(new Conv2dLayer(unit.Name, (int)shape[1] * unit.Groups, (int)shape[0], (int)shape[2], unit.Stride, unit.Padding,
                weight, bias, unit.Groups));
            layers.Add(new ReluLayer($"{unit.Name}_relu"));
            if (unit.PoolAfter)
            {
                layers.Add(new MaxPoolLayer($"{unit.Name}_pool", 2, 2));
            }
        }
        return WithClassifierHead(layers, classifier, imageSize);
    }

    private void Add(string name, int inChannels, int outChannels, int kernel, int stride, int groups = 1, bool poolAfter = false)
    {
        int padding = kernel / 2;
        var conv = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding, groups: groups, bias: false);
        var norm = nn.BatchNorm2d(outChannels);
        convolutions.Add(conv);
        norms.Add(norm);
        units.Add(new Unit(conv, norm, name, stride, padding, groups, poolAfter));
    }
}
