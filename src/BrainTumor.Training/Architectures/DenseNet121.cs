using BrainTumor.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BrainTumor.Training.Architectures;

/// <summary>
/// DenseNet-121 (Huang et al. 2017, table 1; the layout of torchvision's <c>densenet121</c>): a 7x7 stem with max pooling,
/// dense blocks of 6, 12, 24 and 16 layers with growth 32, each layer BN-ReLU-Conv 1x1 (to 4 x 32 channels) then BN-ReLU-Conv
/// 3x3 (to 32), its output stacked onto its input; transitions BN-ReLU-Conv 1x1 halving the channels, then 2x2 average
/// pooling; a final batch norm and ReLU, then a 4-class head. Trained from scratch here. Grad-CAM explains the final ReLU's
/// output (1024 channels). A norm that follows a convolution is folded into it on export; one that precedes a ReLU is
/// exported as a per-channel scale and shift.
/// </summary>
public sealed class DenseNet121 : ClassifierNetwork
{
    private static readonly int[] BlockLayers = [6, 12, 24, 16];
    private const int Growth = 32;
    private const int BottleneckWidth = 4 * Growth;

    /// <summary>A dense-block layer or a transition, which describes itself for export under its own name.</summary>
    private abstract class Stage(string name) : nn.Module<Tensor, Tensor>(name)
    {
        public abstract IEnumerable<NetworkLayer> Describe();
    }

    /// <summary>One layer of a dense block: its new channels are stacked onto its input.</summary>
    private sealed class DenseUnit : Stage
    {
        private readonly BatchNorm2d norm;
        private readonly ConvNorm bottleneck;
        private readonly Conv2d conv;

        public DenseUnit(string name, int inChannels) : base(name)
        {
            norm = nn.BatchNorm2d(inChannels);
            bottleneck = new ConvNorm("bottleneck", inChannels, BottleneckWidth, 1, 1);
            conv = nn.Conv2d(BottleneckWidth, Growth, 3, padding: 1, bias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) =>
            cat([input, conv.call(F.relu(bottleneck.call(F.relu(norm.call(input)))))], 1);

        public override IEnumerable<NetworkLayer> Describe()
        {
            string name = GetName();
            yield return new ConcatBlockLayer(name,
                [BatchNormAsConv($"{name}_norm", norm), new ReluLayer($"{name}_norm_relu"), bottleneck.Describe($"{name}_bottleneck"),
                 new ReluLayer($"{name}_bottleneck_relu"), DescribeConv($"{name}_conv", conv, 1, 1)]);
        }
    }

    /// <summary>Between two dense blocks: halves the channels and the resolution.</summary>
    private sealed class Transition : Stage
    {
        private readonly BatchNorm2d norm;
        private readonly Conv2d conv;

        public Transition(string name, int inChannels) : base(name)
        {
            norm = nn.BatchNorm2d(inChannels);
            conv = nn.Conv2d(inChannels, inChannels / 2, 1, bias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => F.avg_pool2d(conv.call(F.relu(norm.call(input))), 2, 2);

        public override IEnumerable<NetworkLayer> Describe()
        {
            string name = GetName();
            return
            [
                BatchNormAsConv($"{name}_norm", norm), new ReluLayer($"{name}_relu"), DescribeConv($"{name}_conv", conv, 1, 0),
                new AveragePoolLayer($"{name}_pool", 2, 2)
            ];
        }
    }

    private readonly ConvNorm stem;
    private readonly ModuleList<Stage> features = new();
    private readonly BatchNorm2d finalNorm;
    private readonly Linear classifier;
    private readonly int imageSize;

    public DenseNet121(int imageSize, int classes) : base("densenet121")
    {
        if (imageSize < 64)
        {
            throw new TrainingException($"densenet121 needs images of at least 64x64, not {imageSize}.");
        }
        this.imageSize = imageSize;
        stem = new ConvNorm("stem", 3, 64, 7, 2);
        int channels = 64;
        for (int block = 0; block < BlockLayers.Length; block++)
        {
            for (int layer = 0; layer < BlockLayers[block]; layer++)
            {
                features.Add(new DenseUnit($"block{block + 1}_layer{layer + 1}", channels));
                channels += Growth;
            }
            if (block < BlockLayers.Length - 1)
            {
                features.Add(new Transition($"transition{block + 1}", channels));
                channels /= 2;
            }
        }
        finalNorm = nn.BatchNorm2d(channels);
        classifier = nn.Linear(channels, classes);
        RegisterComponents();
    }

    public override int ImageSize => imageSize;

    public override string GradCamLayer => "final_relu";

    public override (Tensor Activation, Tensor Logits) ForwardWithActivation(Tensor input)
    {
        var x = F.max_pool2d(F.relu(stem.call(input)), 3, 2, 1);
        foreach (var stage in features)
        {
            x = stage.call(x);
        }
        x = F.relu(finalNorm.call(x));
        return (x, classifier.call(F.adaptive_avg_pool2d(x, 1).flatten(1)));
    }

    public override SequentialNetwork Describe()
    {
        var layers = new List<NetworkLayer> { stem.Describe("stem"), new ReluLayer("stem_relu"), new MaxPoolLayer("stem_pool", 3, 2, 1) };
        foreach (var stage in features)
        {
            layers.AddRange(stage.Describe());
        }
        layers.AddRange([BatchNormAsConv("final_norm", finalNorm), new ReluLayer(GradCamLayer)]);
        return WithClassifierHead(layers, classifier, imageSize);
    }
}
