using BrainTumor.Onnx;
using BrainTumor.Training.Pretrained;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BrainTumor.Training.Architectures;

/// <summary>
/// ResNet-18 as the ImageNet file has it (basic blocks 2-2-2-3, widths 64-128-256-512, batch norm: torchvision's resnet18
/// with a third block in the last stage, 22 convolutions) started from ImageNet weights
/// (<see cref="ImageNetResNet18"/>), with a new 4-class head. The network takes the pipeline's [0, 1] RGB input and
/// standardises it itself, as the ImageNet network was trained: 0-255 pixels minus the per-channel ImageNet means (no
/// division). Grad-CAM explains the last block's output (512 channels, 1/32 of the input). Batch norm is folded on export.
/// </summary>
public sealed class ResNet18 : ClassifierNetwork
{
    private sealed class BasicBlock : nn.Module<Tensor, Tensor>
    {
        private readonly ConvNorm first, second;
        private readonly ConvNorm? projection;

        public BasicBlock(string name, int inChannels, int width, int stride) : base(name)
        {
            first = new ConvNorm("first", inChannels, width, 3, stride);
            second = new ConvNorm("second", width, width, 3, 1);
            if (stride != 1 || inChannels != width)
            {
                projection = new ConvNorm("projection", inChannels, width, 1, stride);
            }
            RegisterComponents();
        }

        public bool HasProjection => projection is not null;

        public void Load(PretrainedConvNorm first, PretrainedConvNorm second, PretrainedConvNorm? projection)
        {
            this.first.Load(first);
            this.second.Load(second);
            if (this.projection is not null)
            {
                this.projection.Load(projection ?? throw new TrainingException($"{GetName()} needs a pretrained projection."));
            }
        }

        public override Tensor forward(Tensor input)
        {
            var main = second.call(F.relu(first.call(input)));
            return F.relu(main.Plus(projection?.call(input) ?? input));
        }

        public IEnumerable<NetworkLayer> Describe(string name)
        {
            yield return new ResidualBlockLayer(name,
                [first.Describe($"{name}_first"), new ReluLayer($"{name}_first_relu"), second.Describe($"{name}_second")],
                projection is null ? [] : [projection.Describe($"{name}_projection")]);
            yield return new ReluLayer($"{name}_relu");
        }
    }

    /// <summary>Width, basic blocks and first stride of each stage, as in the ImageNet file.</summary>
    public static readonly (int Width, int Blocks, int Stride)[] Stages = [(64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 3, 2)];

    private readonly ConvNorm stem;
    private readonly ModuleList<BasicBlock> blocks = new();
    private readonly Linear classifier;
    private readonly int imageSize;
    private readonly float[] meanRgb;
    private readonly Tensor negativeMean;
    private static readonly Scalar PixelRange = 255.0.ToScalar();

    /// <param name="imageNet">The weights to start from; their per-channel means standardise the input.</param>
    public ResNet18(int imageSize, int classes, ImageNetResNet18 imageNet) : base("resnet18")
    {
        if (imageSize < 64 || imageSize % 32 != 0)
        {
            throw new TrainingException($"resnet18 needs a multiple of 32 of at least 64 pixels, not {imageSize}.");
        }
        this.imageSize = imageSize;
        stem = new ConvNorm("stem", 3, 64, 7, 2);
        int inChannels = 64;
        foreach (var (width, count, stride) in Stages)
        {
            for (int i = 0; i < count; i++)
            {
                blocks.Add(new BasicBlock($"block{blocks.Count + 1}", inChannels, width, i == 0 ? stride : 1));
                inChannels = width;
            }
        }
        classifier = nn.Linear(inChannels, classes);
        RegisterComponents();

        // The ImageNet network reads BGR; this one reads RGB, so the stem's input channels and the means are reversed.
        meanRgb = [.. imageNet.MeanBgr.Reverse()];
        negativeMean = tensor(meanRgb.Select(m => -m).ToArray(), [1, 3, 1, 1]);
        stem.Load(imageNet.Convolutions[0], reverseInputChannels: true);
        int projectionIndex = 0;
        for (int b = 0; b < blocks.Count; b++)
        {
            blocks[b].Load(imageNet.Convolutions[1 + 2 * b], imageNet.Convolutions[2 + 2 * b],
                blocks[b].HasProjection ? imageNet.Projections[projectionIndex++] : null);
        }
        InitialWeights = imageNet.Source;
    }

    public override int ImageSize => imageSize;

    public override string GradCamLayer => $"block{blocks.Count}_relu";

    public override string? InitialWeights { get; }

    public override bool IsPretrained(string parameterName) => !parameterName.StartsWith("classifier.", StringComparison.Ordinal);

    /// <remarks>
    /// Runs in the plain NCHW layout whatever the input's: with channels-last input, LibTorch's CPU kernels gave the
    /// first block of the last stage outputs up to 7 apart from the plain layout's (measured on 64x64 slices, 2026-12-05),
    /// and the plain layout is the one that matches ONNX Runtime.
    /// </remarks>
    public override (Tensor Activation, Tensor Logits) ForwardWithActivation(Tensor input)
    {
        var x = F.max_pool2d(F.relu(stem.call(input.contiguous().mul(PixelRange).add(negativeMean, HeldScalars.One))), 3, 2, 1);
        foreach (var block in blocks)
        {
            x = block.call(x);
        }
        return (x, classifier.call(F.adaptive_avg_pool2d(x, 1).flatten(1)));
    }

    /// <summary>The pooled 512 features the ImageNet network ends in, for the parity check against its ONNX file.</summary>
    public Tensor Features(Tensor input) => F.adaptive_avg_pool2d(ForwardWithActivation(input).Activation, 1).flatten(1);

    public override SequentialNetwork Describe()
    {
        var standardise = new Conv2dLayer("standardise", 3, 3, 1, 1, 0, [255f, 255f, 255f], [.. meanRgb.Select(m => -m)], Groups: 3);
        var layers = new List<NetworkLayer>
        {
            standardise, stem.Describe("stem"), new ReluLayer("stem_relu"), new MaxPoolLayer("stem_pool", 3, 2, 1)
        };
        for (int i = 0; i < blocks.Count; i++)
        {
            layers.AddRange(blocks[i].Describe($"block{i + 1}"));
        }
        return WithClassifierHead(layers, classifier, imageSize);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            negativeMean.Dispose();
        }
        base.Dispose(disposing);
    }
}
