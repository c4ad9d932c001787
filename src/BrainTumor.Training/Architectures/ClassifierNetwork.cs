using BrainTumor.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace BrainTumor.Training.Architectures;

/// <summary>A trainable image classifier that can show its Grad-CAM layer and describe itself for export.</summary>
public abstract class ClassifierNetwork(string name) : nn.Module<Tensor, Tensor>(name)
{
    public abstract int ImageSize { get; }

    /// <summary>Name of the layer whose output Grad-CAM explains.</summary>
    public abstract string GradCamLayer { get; }

    /// <summary>Logits, and the Grad-CAM layer's activation they were computed from.</summary>
    public abstract (Tensor Activation, Tensor Logits) ForwardWithActivation(Tensor input);

    /// <summary>The trained network as a chain of layers with copied weights, for the ONNX exporter.</summary>
    public abstract SequentialNetwork Describe();

    public override Tensor forward(Tensor input) => ForwardWithActivation(input).Logits;

    /// <summary>Where the starting weights came from, or null for a random start.</summary>
    public virtual string? InitialWeights => null;

    /// <summary>Whether a parameter starts from pretrained weights (the backbone), which fine-tuning may train more gently.</summary>
    public virtual bool IsPretrained(string parameterName) => false;

    /// <summary>Training mode, with every batch norm kept on its running statistics when <paramref name="frozenNorms"/>.</summary>
    public void TrainingMode(bool frozenNorms)
    {
        train();
        if (frozenNorms)
        {
            foreach (var (_, module) in named_modules())
            {
                if (module is TorchSharp.Modules.BatchNorm2d norm)
                {
                    norm.eval();
                }
            }
        }
    }

    public long ParameterCount() => parameters().Sum(p => p.numel());

    internal static float[] Values(Tensor tensor) => tensor.detach().cpu().contiguous().data<float>().ToArray();

    /// <summary>
    /// The network description for layers that end in the Grad-CAM layer, followed by global average pooling and the dense
    /// classifier: the head every architecture here shares.
    /// </summary>
    protected static SequentialNetwork WithClassifierHead(List<NetworkLayer> layers, TorchSharp.Modules.Linear classifier, int imageSize)
    {
        int gradCamIndex = layers.Count - 1;
        layers.Add(new GlobalAveragePoolLayer("gap"));
        layers.Add(new FlattenLayer("flatten"));
        layers.Add(new DenseLayer("classifier", (int)classifier.in_features, (int)classifier.out_features,
            Values(classifier.weight!), Values(classifier.bias!)));
        return new SequentialNetwork(3, imageSize, imageSize, layers, gradCamIndex);
    }

    /// <summary>Batch normalisation with its running statistics as y = scale * x + shift per channel.</summary>
    private static (float[] Scale, float[] Shift) NormAsAffine(TorchSharp.Modules.BatchNorm2d norm)
    {
        float[] gamma = Values(norm.weight!), beta = Values(norm.bias!);
        float[] mean = Values(norm.running_mean!), variance = Values(norm.running_var!);
        var scale = new float[gamma.Length];
        var shift = new float[gamma.Length];
        for (int c = 0; c < gamma.Length; c++)
        {
            scale[c] = gamma[c] / MathF.Sqrt(variance[c] + (float)norm.eps);
            shift[c] = beta[c] - mean[c] * scale[c];
        }
        return (scale, shift);
    }

    /// <summary>
    /// A bias-free convolution followed by batch normalisation (running statistics), as one convolution:
    /// weights scaled by gamma / sqrt(var + eps), bias beta - mean * gamma / sqrt(var + eps).
    /// </summary>
    internal static (float[] Weight, float[] Bias) FoldBatchNorm(TorchSharp.Modules.Conv2d conv, TorchSharp.Modules.BatchNorm2d norm)
    {
        float[] weight = Values(conv.weight!);
        var (scale, shift) = NormAsAffine(norm);
        int perChannel = weight.Length / scale.Length;
        for (int o = 0; o < scale.Length; o++)
        {
            for (int i = 0; i < perChannel; i++)
            {
                weight[o * perChannel + i] *= scale[o];
            }
        }
        return (weight, shift);
    }

    /// <summary>
    /// Batch normalisation on its own, as a depthwise 1x1 convolution: DenseNet normalises before its ReLU, so the norm
    /// cannot be folded into the convolution after it.
    /// </summary>
    internal static Conv2dLayer BatchNormAsConv(string name, TorchSharp.Modules.BatchNorm2d norm)
    {
        var (scale, shift) = NormAsAffine(norm);
        return new Conv2dLayer(name, scale.Length, scale.Length, 1, 1, 0, scale, shift, Groups: scale.Length);
    }

    /// <summary>A convolution without batch normalisation (and, in the networks here, without bias).</summary>
    internal static Conv2dLayer DescribeConv(string name, TorchSharp.Modules.Conv2d conv, int stride, int padding, int groups = 1)
    {
        var shape = conv.weight!.shape;
        var bias = conv.bias is null ? new float[shape[0]] : Values(conv.bias);
        return new Conv2dLayer(name, (int)shape[1] * groups, (int)shape[0], (int)shape[2], stride, padding, Values(conv.weight!), bias,
            groups);
    }
}
