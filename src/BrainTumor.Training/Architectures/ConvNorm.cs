using BrainTumor.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BrainTumor.Training.Architectures;

/// <summary>A bias-free convolution followed by batch normalisation, exported as one convolution with the norm folded in.</summary>
internal sealed class ConvNorm : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d norm;

    /// <param name="groups">Equal to both channel counts for a depthwise convolution.</param>
    public ConvNorm(string name, int inChannels, int outChannels, int kernel, int stride, int groups = 1) : base(name)
    {
        Stride = stride;
        Padding = kernel / 2;
        Groups = groups;
        conv = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: Padding, groups: groups, bias: false);
        norm = nn.BatchNorm2d(outChannels);
        RegisterComponents();
    }

    public int Stride { get; }
    public int Padding { get; }
    public int Groups { get; }

    public override Tensor forward(Tensor input) => norm.call(conv.call(input));

    /// <summary>Copies pretrained weights and batch-norm statistics in; <paramref name="reverseInputChannels"/> turns a BGR stem into an
    /// RGB one.</summary>
    public void Load(Pretrained.PretrainedConvNorm pretrained, bool reverseInputChannels = false)
    {
        var shape = conv.weight!.shape;
        if (!shape.SequenceEqual(pretrained.WeightShape))
        {
            throw new TrainingException(
                $"Pretrained weights [{string.Join("x", pretrained.WeightShape)}] do not fit {GetName()} [{string.Join("x", shape)}].");
        }
        using var noGrad = no_grad();
        using var weight = tensor(pretrained.Weight, shape);
        using var ordered = reverseInputChannels ? weight.flip(1) : weight.alias();
        conv.weight!.copy_(ordered);
        using (var scale = tensor(pretrained.Scale)) norm.weight!.copy_(scale);
        using (var shift = tensor(pretrained.Shift)) norm.bias!.copy_(shift);
        using (var mean = tensor(pretrained.Mean)) norm.running_mean!.copy_(mean);
        using (var variance = tensor(pretrained.Variance)) norm.running_var!.copy_(variance);
    }

    public Conv2dLayer Describe(string name)
    {
        var (weight, bias) = ClassifierNetwork.FoldBatchNorm(conv, norm);
        var shape = conv.weight!.shape;
        return new Conv2dLayer(name, (int)shape[1] * Groups, (int)shape[0], (int)shape[2], Stride, Padding, weight, bias, Groups);
    }
}
