using BrainTumor.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BrainTumor.Training.Architectures;

/// <summary>
/// EfficientNet-B0 (Tan and Le 2019, table 1; the layout of torchvision's <c>efficientnet_b0</c>): a 3x3 stem, 16 MBConv
/// blocks (1x1 expansion, depthwise 3x3 or 5x5, squeeze-and-excitation to a quarter of the block's input channels, linear
/// 1x1 projection, SiLU, a residual connection with stochastic depth where the shape allows), a 1x1 convolution to 1280
/// channels, dropout 0.2 and a 4-class head. Trained from scratch here. Grad-CAM explains the last convolution's output.
/// Batch norm is folded on export; stochastic depth and dropout act in training only.
/// </summary>
public sealed class EfficientNetB0(int imageSize, int classes)
    : InvertedResidualNetwork("efficientnetb0", imageSize, classes, Blocks(), Stages[^1].Channels, x => F.silu(x),
        name => new SiluLayer(name), "silu")
{
    /// <summary>Table 1 of the paper: expansion, kernel, first stride, output channels, repeats.</summary>
    private static readonly (int Expansion, int Kernel, int Stride, int Channels, int Repeats)[] Stages =
        [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)];

    /// <summary>torchvision's default: the drop probability rises linearly from 0 to this over the blocks.</summary>
    private const double StochasticDepth = 0.2;

    private static IEnumerable<InvertedResidualBlock> Blocks()
    {
        int total = Stages.Sum(s => s.Repeats), inChannels = StemChannels, count = 0;
        foreach (var (expansion, kernel, stride, channels, repeats) in Stages)
        {
            for (int i = 0; i < repeats; i++)
            {
                double drop = StochasticDepth * count / total;
                yield return new MBConv($"block{++count}", inChannels, channels, expansion, kernel, i == 0 ? stride : 1, drop);
                inChannels = channels;
            }
        }
    }

    private sealed class MBConv : InvertedResidualBlock
    {
        private readonly ConvNorm? expand;
        private readonly ConvNorm depthwise, project;
        private readonly Conv2d squeeze, excite;
        private readonly bool residual;
        private readonly double dropProbability;

        public MBConv(string name, int inChannels, int outChannels, int expansion, int kernel, int stride, double dropProbability)
            : base(name)
        {
            int hidden = inChannels * expansion;
            if (expansion != 1)
            {
                expand = new ConvNorm("expand", inChannels, hidden, 1, 1);
            }
            depthwise = new ConvNorm("depthwise", hidden, hidden, kernel, stride, groups: hidden);
            int squeezed = Math.Max(1, inChannels / 4);
            squeeze = nn.Conv2d(hidden, squeezed, 1);
            excite = nn.Conv2d(squeezed, hidden, 1);
            project = new ConvNorm("project", hidden, outChannels, 1, 1);
            residual = stride == 1 && inChannels == outChannels;
            this.dropProbability = dropProbability;
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var x = expand is null ? input : F.silu(expand.call(input));
            x = F.silu(depthwise.call(x));
            x = x * sigmoid(excite.call(F.silu(squeeze.call(F.adaptive_avg_pool2d(x, 1)))));
            x = project.call(x);
            if (!residual)
            {
                return x;
            }
            if (training && dropProbability > 0)
            {
                // Stochastic depth, per sample ("row" mode): the residual branch is dropped or scaled up to keep its mean.
                using Scalar keepProbability = (1 - dropProbability).ToScalar();
                using var kept = bernoulli(full([x.shape[0], 1, 1, 1], keepProbability, x.dtype, x.device));
                x = x * (kept / keepProbability);
            }
            return x.Plus(input);
        }

        public override IEnumerable<NetworkLayer> Describe(string name)
        {
            var main = new List<NetworkLayer>();
            if (expand is not null)
            {
                main.AddRange([expand.Describe($"{name}_expand"), new SiluLayer($"{name}_expand_silu")]);
            }
            main.AddRange([depthwise.Describe($"{name}_depthwise"), new SiluLayer($"{name}_depthwise_silu")]);
            main.Add(new ChannelGateLayer($"{name}_se",
                [new GlobalAveragePoolLayer($"{name}_se_pool"), DescribeConv($"{name}_se_squeeze", squeeze, 1, 0),
                 new SiluLayer($"{name}_se_silu"), DescribeConv($"{name}_se_excite", excite, 1, 0),
                 new SigmoidLayer($"{name}_se_sigmoid")]));
            main.Add(project.Describe($"{name}_project"));
            return residual ? [new ResidualBlockLayer(name, main, [])] : main;
        }
    }
}
