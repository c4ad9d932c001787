using BrainTumor.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BrainTumor.Training.Architectures;

/// <summary>
/// The standard ResNet-50 (bottleneck blocks 3-4-6-3, widths 64-128-256-512 times 4, batch norm, stride on
/// the 3x3 convolution) with a 4-class head. Trained from scratch: the only ImageNet weights the build can restore are
/// ResNet-18's (<see cref="ResNet18"/>). Grad-CAM explains the last stage's output (2048 channels). Batch norm is folded on export.
/// </summary>
public sealed class ResNet50 : ClassifierNetwork
{
    private const int Expansion = 4;

    private sealed class Bottleneck : nn.Module<Tensor, Tensor>
    {
        private readonly ConvNorm reduce, spatial, expand;
        private readonly ConvNorm? projection;

        public Bottleneck(string name, int inChannels, int width, int stride) : base(name)
        {
            reduce = new ConvNorm("reduce", inChannels, width, 1, 1);
            spatial = new ConvNorm("spatial", width, width, 3, stride);
            expand = new ConvNorm("expand", width, width * Expansion, 1, 1);
            if (stride != 1 || inChannels != width * Expansion)
            {
                projection = new ConvNorm("projection", inChannels, width * Expansion, 1, stride);
            }
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var main = expand.call(F.relu(spatial.call(F.relu(reduce.call(input)))));
            return F.relu(main.Plus(projection?.call(input) ?? input));
        }

        public IEnumerable<NetworkLayer> Describe(string name)
        {
            yield return new ResidualBlockLayer(name,
                [reduce.Describe($"{name}_reduce"), new ReluLayer($"{name}_reduce_relu"), spatial.Describe($"{name}_spatial"),
                 new ReluLayer($"{name}_spatial_relu"), expand.Describe($"{name}_expand")],
                projection is null ? [] : [projection.Describe($"{name}_projection")]);
            yield return new ReluLayer($"{name}_relu");
        }
    }

    private readonly ConvNorm stem;
    private readonly ModuleList<Bottleneck> blocks = new();
    private readonly Linear classifier;
    private readonly int imageSize;

    public ResNet50(int imageSize, int classes) : base("resnet50")
    {
        if (imageSize < 64)
        {
            throw new TrainingException($"resnet50 needs images of at least 64x64, not {imageSize}.");
        }
        this.imageSize = imageSize;
        stem = new ConvNorm("stem", 3, 64, 7, 2);
        int inChannels = 64;
        foreach (var (width, count, stride) in new[] { (64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2) })
        {
            for (int i = 0; i < count; i++)
            {
                blocks.Add(new Bottleneck($"block{blocks.Count + 1}", inChannels, width, i == 0 ? stride : 1));
                inChannels = width * Expansion;
            }
        }
        classifier = nn.Linear(inChannels, classes);
        RegisterComponents();
    }

    public override int ImageSize => imageSize;

    public override string GradCamLayer => $"block{blocks.Count}_relu";

    public override (Tensor Activation, Tensor Logits) ForwardWithActivation(Tensor input)
    {
        var x = F.max_pool2d(F.relu(stem.call(input)), 3, 2, 1);
        foreach (var block in blocks)
        {
            x = block.call(x);
        }
        return (x, classifier.call(F.adaptive_avg_pool2d(x, 1).flatten(1)));
    }

    public override SequentialNetwork Describe()
    {
        var layers = new List<NetworkLayer> { stem.Describe("stem"), new ReluLayer("stem_relu"), new MaxPoolLayer("stem_pool", 3, 2, 1) };
        for (int i = 0; i < blocks.Count; i++)
        {
            layers.AddRange(blocks[i].Describe($"block{i + 1}"));
        }
        return WithClassifierHead(layers, classifier, imageSize);
    }
}
