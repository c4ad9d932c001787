using BrainTumor.Onnx.Proto;
using Google.Protobuf;
using static BrainTumor.Onnx.OnnxGraphBuilder;
using DataType = BrainTumor.Onnx.Proto.TensorProto.Types.DataType;

namespace BrainTumor.Onnx;

/// <summary>
/// Writes a <see cref="SequentialNetwork"/> as an ONNX model: logits and probabilities, and optionally
/// the Grad-CAM graph, in which the gradient of the chosen class's logit with respect to the Grad-CAM
/// layer is built analytically from ONNX operators, so that no autograd is needed at serving time.
/// </summary>
public static class OnnxExporter
{
    public const int OpsetVersion = 17;
    public const long IrVersion = 8;
    public const string BatchDimension = "batch";

    /// <summary>Exports the network; <paramref name="includeGradCam"/> false gives the plain classifier.</summary>
    /// <param name="temperature">Probabilities are softmax(logits / temperature); 1 leaves them as trained.</param>
    public static ModelProto Export(SequentialNetwork network, bool includeGradCam = true, string producerVersion = "1.0", double temperature = 1.0)
    {
        var builder = new OnnxGraphBuilder("braintumor_classifier", ModelTensorNames.All);
        builder.Input(ModelTensorNames.Input, DataType.Float, BatchDimension, network.InputChannels, network.InputHeight, network.InputWidth);

        var shapes = network.Shapes();
        var trace = new List<LayerTrace>(network.Layers.Count);
        string current = ModelTensorNames.Input;
        for (int index = 0; index < network.Layers.Count; index++)
        {
            bool inHead = includeGradCam && index > network.GradCamLayerIndex;
            var layer = network.Layers[index];
            var (output, extra) = EmitForward(builder, layer, current, inHead);
            var inputShape = index == 0 ? new FeatureShape(network.InputChannels, network.InputHeight, network.InputWidth) : shapes[index - 1];
            trace.Add(new LayerTrace(layer, current, output, extra, inputShape));
            current = output;
        }

        if (shapes[^1].Features is not int classCount)
        {
            throw new InvalidOperationException("The network must end in a dense layer that gives one logit per class.");
        }
        builder.Node("Identity", [current], outputs: [ModelTensorNames.Logits]);
        string scaled = temperature == 1.0
            ? ModelTensorNames.Logits
            : builder.Single("Div", ModelTensorNames.Logits, builder.Initializer("temperature", [(float)temperature]));
        builder.Node("Softmax", [scaled], attributes: [Attribute("axis", 1L)], outputs: [ModelTensorNames.Probabilities]);
        builder.Output(ModelTensorNames.Logits, DataType.Float, BatchDimension, classCount);
        builder.Output(ModelTensorNames.Probabilities, DataType.Float, BatchDimension, classCount);

        if (includeGradCam)
        {
            var camShape = shapes[network.GradCamLayerIndex];
            if (camShape.Features is not null)
            {
                throw new InvalidOperationException("The Grad-CAM layer must output a [N, C, H, W] feature map.");
            }
            EmitGradCam(builder, network, trace, classCount, camShape);
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "BrainTumor",
            ProducerVersion = producerVersion,
            Graph = builder.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        return model;
    }

    public static void Save(ModelProto model, string path)
    {
        using var stream = File.Create(path);
        model.WriteTo(stream);
    }

    private sealed record LayerTrace(NetworkLayer Layer, string Input, string Output, string? PoolIndices, FeatureShape InputShape);

    private static (string Output, string? PoolIndices) EmitForward(
        OnnxGraphBuilder builder, NetworkLayer layer, string input, bool inHead)
    {
        switch (layer)
        {
            case Conv2dLayer conv:
                string weight = builder.Initializer($"{conv.Name}.weight", conv.Weight, conv.OutChannels, conv.InChannels / conv.Groups, conv.Kernel, conv.Kernel);
                string bias = builder.Initializer($"{conv.Name}.bias", conv.Bias, conv.OutChannels);
                return (builder.Node("Conv", [input, weight, bias], name: conv.Name, attributes:
                [
                    Attribute("kernel_shape", conv.Kernel, conv.Kernel),
                    Attribute("strides", conv.Stride, conv.Stride),
                    Attribute("pads", conv.Padding, conv.Padding, conv.Padding, conv.Padding),
                    Attribute("group", (long)conv.Groups),
                ])[0], null);
            case GlobalAveragePoolLayer pool:
                return (builder.Node("GlobalAveragePool", [input], name: pool.Name)[0], null);
            case ReluLayer relu:
                return (builder.Node("Relu", [input], name: relu.Name)[0], null);
            case MaxPoolLayer pool:
                // In the head the pooling also reports where each maximum came from, for its gradient.
                var outputs = builder.Node("MaxPool", [input], outputCount: inHead ? 2 : 1, name: pool.Name,
                    attributes: PoolAttributes(pool));
                return (outputs[0], inHead ? outputs[1] : null);
            case ResidualBlockLayer block:
                if (inHead)
                {
                    throw new NotSupportedException($"The Grad-CAM head cannot contain the residual block '{block.Name}'; move the Grad-CAM layer after it.");
                }
                string main = block.Main.Aggregate(input, (current, inner) => EmitForward(builder, inner, current, inHead: false).Output);
                string shortcut = block.Shortcut.Aggregate(input, (current, inner) => EmitForward(builder, inner, current, inHead: false).Output);
                return (builder.Node("Add", [main, shortcut], name: block.Name)[0], null);
            case FlattenLayer flatten:
                return (builder.Node("Flatten", [input], name: flatten.Name, attributes: [Attribute("axis", 1L)])[0], null);
            case DenseLayer dense:
                string w = builder.Initializer($"{dense.Name}.weight", dense.Weight, dense.OutFeatures, dense.InFeatures);
                string b = builder.Initializer($"{dense.Name}.bias", dense.Bias, dense.OutFeatures);
                return (builder.Node("Gemm", [input, w, b], name: dense.Name, attributes: [Attribute("transB", 1L)])[0], null);
            default:
                throw new NotSupportedException($"Layer '{layer.Name}' of type {layer.GetType().Name} cannot be exported.");
        }
    }

    private static void EmitGradCam(OnnxGraphBuilder builder, SequentialNetwork network, List<LayerTrace> trace, int classCount, FeatureShape camShape)
    {
        string gradient = GradCamGraph.EmitClassSelection(builder, ModelTensorNames.Logits, classCount).OneHot;

        var zero = new Lazy<string>(() => builder.Initializer("zero", [0f]));
        for (int index = trace.Count - 1; index > network.GradCamLayerIndex; index--)
        {
            gradient = EmitBackward(builder, trace[index], gradient, zero);
        }

        string activation = trace[network.GradCamLayerIndex].Output;
        GradCamGraph.EmitCam(builder, gradient, activation, spatialAxes: [2, 3], channelAxis: 1, OpsetVersion, ModelTensorNames.Cam);
        builder.Output(ModelTensorNames.Cam, DataType.Float, BatchDimension, camShape.Height, camShape.Width);
        builder.Output(ModelTensorNames.CamClass, DataType.Int64, BatchDimension);
    }

    /// <summary>Given d(score)/d(layer output), emits d(score)/d(layer input).</summary>
    private static string EmitBackward(OnnxGraphBuilder builder, LayerTrace step, string outputGradient, Lazy<string> zero) => step.Layer switch
    {
        // y = x W^T + b  =>  dx = dy W
        DenseLayer => builder.Single("MatMul", outputGradient, InitializerOf(step, builder)),
        // ReLU passes the gradient where its output is positive.
        ReluLayer => builder.Single("Mul", outputGradient,
            builder.Single("Cast", [builder.Single("Greater", step.Output, zero.Value)], Attribute("to", (long)DataType.Float))),
        FlattenLayer => builder.Single("Reshape", outputGradient, builder.Single("Shape", step.Input)),
        // Each pooled gradient goes back to the position its maximum came from.
        MaxPoolLayer pool => GradCamGraph.MaxPoolGradient(builder, outputGradient, step.PoolIndices!, step.Input, PoolAttributes(pool),
            overlapping: pool.Kernel > pool.Stride),
        // The mean spreads each channel's gradient evenly over its H x W positions.
        GlobalAveragePoolLayer => builder.Single("Mul",
            builder.Single("Expand", outputGradient, builder.Single("Shape", step.Input)),
            builder.Initializer("inverse_area", [1f / (step.InputShape.Height * step.InputShape.Width)])),
        _ => throw new NotSupportedException(
            $"The Grad-CAM head cannot contain layer '{step.Layer.Name}' ({step.Layer.GetType().Name}); move the Grad-CAM layer after it."),
    };

    private static AttributeProto[] PoolAttributes(MaxPoolLayer pool) =>
    [
        Attribute("kernel_shape", pool.Kernel, pool.Kernel),
        Attribute("strides", pool.Stride, pool.Stride),
        Attribute("pads", pool.Padding, pool.Padding, pool.Padding, pool.Padding),
    ];

    private static string InitializerOf(LayerTrace step, OnnxGraphBuilder builder) =>
        builder.Graph.Node.First(node => node.Name == step.Layer.Name).Input[1];
}
