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

    public long ParameterCount() => parameters().Sum(p => p.numel());

    protected static float[] Values(Tensor tensor) => tensor.detach().cpu().contiguous().data<float>().ToArray();

    /// <summary>
    /// A bias-free convolution followed by batch normalisation (running statistics), as one convolution:
    /// weights scaled by gamma / sqrt(var + eps), bias beta - mean * gamma / sqrt(var + eps).
    /// </summary>
    protected static (float[] Weight, float[] Bias) FoldBatchNorm(TorchSharp.Modules.Conv2d conv, TorchSharp.Modules.BatchNorm2d norm)
    {
        float[] weight = Values(conv.weight!);
        float[] gamma = Values(norm.weight!), beta = Values(norm.bias!);
        float[] mean = Values(norm.running_mean!), variance = Values(norm.running_var!);
        int outChannels = gamma.Length, perChannel = weight.Length / outChannels;
        var bias = new float[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            float scale = gamma[o] / MathF.Sqrt(variance[o] + 1e-5f);
            for (int i = 0; i < perChannel; i++)
            {
                weight[o * perChannel + i] *= scale;
            }
            bias[o] = beta[o] - mean[o] * scale;
        }
        return (weight, bias);
    }
}
