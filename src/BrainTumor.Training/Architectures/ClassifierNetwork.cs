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
}
