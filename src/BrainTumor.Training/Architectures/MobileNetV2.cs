using BrainTumor.Onnx;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BrainTumor.Training.Architectures;

/// <summary>
/// MobileNetV2 at width 1.0 (Sandler et al. 2018, table 2; the layout of torchvision's <c>mobilenet_v2</c>): a 3x3 stem,
/// 17 inverted residual blocks (1x1 expansion, 3x3 depthwise, linear 1x1 projection, ReLU6, a residual connection where
/// the shape allows), a 1x1 convolution to 1280 channels, dropout 0.2 and a 4-class head. Trained from scratch here.
/// Grad-CAM explains the last convolution's output. Batch norm is folded on export.
/// </summary>
public sealed class MobileNetV2(int imageSize, int classes)
    : InvertedResidualNetwork("mobilenetv2", imageSize, classes, Blocks(), Stages[^1].Channels, x => F.relu6(x),
        name => new Relu6Layer(name), "relu6")
{
    /// <summary>Table 2 of the paper: expansion factor t, output channels c, repeats n, first stride s.</summary>
    private static readonly (int Expansion, int Channels, int Repeats, int Stride)[] Stages =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    private static IEnumerable<InvertedResidualBlock> Blocks()
    {
        int inChannels = StemChannels, count = 0;
        foreach (var (expansion, channels, repeats, stride) in Stages)
        {
            for (int i = 0; i < repeats; i++)
            {
                yield return new InvertedResidual($"block{++count}", inChannels, channels, expansion, i == 0 ? stride : 1);
                inChannels = channels;
            }
        }
    }

    private sealed class InvertedResidual : InvertedResidualBlock
    {
        private readonly ConvNorm? expand;
        private readonly ConvNorm depthwise, project;
        private readonly bool residual;

        public InvertedResidual(string name, int inChannels, int outChannels, int expansion, int stride) : base(name)
        {
            int hidden = inChannels * expansion;
            if (expansion != 1)
            {
                expand = new ConvNorm("expand", inChannels, hidden, 1, 1);
            }
            depthwise = new ConvNorm("depthwise", hidden, hidden, 3, stride, groups: hidden);
            project = new ConvNorm("project", hidden, outChannels, 1, 1);
            residual = stride == 1 && inChannels == outChannels;
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var x = expand is null ? input : F.relu6(expand.call(input));
            x = project.call(F.relu6(depthwise.call(x)));
            return residual ? x.Plus(input) : x;
        }

        public override IEnumerable<NetworkLayer> Describe(string name)
        {
            var main = new List<NetworkLayer>();
            if (expand is not null)
            {
                main.AddRange([expand.Describe($"{name}_expand"), new Relu6Layer($"{name}_expand_relu6")]);
            }
            main.AddRange(
                [depthwise.Describe($"{name}_depthwise"), new Relu6Layer($"{name}_depthwise_relu6"), project.Describe($"{name}_project")]);
            return residual ? [new ResidualBlockLayer(name, main, [])] : main;
        }
    }
}
