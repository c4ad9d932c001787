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
    public static ModelProto Export(SequentialNetwork network, bool includeGradCam = true, string producerVersion = "1.0",
        double temperature = 1.0)
    {
        var builder = new OnnxGraphBuilder("braintumor_classifier", ModelTensorNames.All);
        builder.Input(ModelTensorNames.Input, DataType.Float, BatchDimension, network.InputChannels, network.InputHeight,
            network.InputWidth);

        var shapes = network.Shapes();
        var outputs = new string[network.Layers.Count];
        int headStart = 0;
        string current = ModelTensorNames.Input;
        for (int index = 0; index < network.Layers.Count; index++)
        {
            if (index == network.GradCamLayerIndex + 1)
            {
                headStart = builder.Graph.Node.Count;
            }
            current = outputs[index] = EmitForward(builder, network.Layers[index], current);
        }
        var head = builder.Graph.Node.Skip(headStart).ToList();

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
            EmitGradCam(builder, network, shapes, outputs, head, classCount);
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

    private static string EmitForward(OnnxGraphBuilder builder, NetworkLayer layer, string input)
    {
        switch (layer)
        {
            case Conv2dLayer conv:
                string weight = builder.Initializer($"{conv.Name}.weight", conv.Weight, conv.OutChannels, conv.InChannels / conv.Groups,
                    conv.Kernel, conv.Kernel);
                string bias = builder.Initializer($"{conv.Name}.bias", conv.Bias, conv.OutChannels);
                return builder.Node("Conv", [input, weight, bias], name: conv.Name, attributes:
                [
                    Attribute("kernel_shape", conv.Kernel, conv.Kernel),
                    Attribute("strides", conv.Stride, conv.Stride),
                    Attribute("pads", conv.Padding, conv.Padding, conv.Padding, conv.Padding),
                    Attribute("group", (long)conv.Groups),
                ])[0];
            case GlobalAveragePoolLayer pool:
                return builder.Node("GlobalAveragePool", [input], name: pool.Name)[0];
            case ReluLayer relu:
                return builder.Node("Relu", [input], name: relu.Name)[0];
            case Relu6Layer relu6:
                return builder.Node("Clip",
                    [input, builder.Initializer($"{relu6.Name}.min", [0f]), builder.Initializer($"{relu6.Name}.max", [6f])],
                    name: relu6.Name)[0];
            case SiluLayer silu:
                return builder.Node("Mul", [input, builder.Node("Sigmoid", [input], name: $"{silu.Name}_sigmoid")[0]], name: silu.Name)[0];
            case SigmoidLayer sigmoid:
                return builder.Node("Sigmoid", [input], name: sigmoid.Name)[0];
            case AveragePoolLayer pool:
                return builder.Node("AveragePool", [input], name: pool.Name, attributes:
                [
                    Attribute("kernel_shape", pool.Kernel, pool.Kernel),
                    Attribute("strides", pool.Stride, pool.Stride),
                ])[0];
            case ChannelGateLayer gate:
                return builder.Node("Mul", [input, EmitChain(builder, gate.Gate, input)], name: gate.Name)[0];
            case ConcatBlockLayer concat:
                return builder.Node("Concat", [input, EmitChain(builder, concat.Main, input)],
                    name: concat.Name, attributes: [Attribute("axis", 1L)])[0];
            case MaxPoolLayer pool:
                return builder.Node("MaxPool", [input], name: pool.Name, attributes:
                [
                    Attribute("kernel_shape", pool.Kernel, pool.Kernel),
                    Attribute("strides", pool.Stride, pool.Stride),
                    Attribute("pads", pool.Padding, pool.Padding, pool.Padding, pool.Padding),
                ])[0];
            case ResidualBlockLayer block:
                string main = EmitChain(builder, block.Main, input);
                string shortcut = EmitChain(builder, block.Shortcut, input);
                return builder.Node("Add", [main, shortcut], name: block.Name)[0];
            case FlattenLayer flatten:
                return builder.Node("Flatten", [input], name: flatten.Name, attributes: [Attribute("axis", 1L)])[0];
            case DenseLayer dense:
                string w = builder.Initializer($"{dense.Name}.weight", dense.Weight, dense.OutFeatures, dense.InFeatures);
                string b = builder.Initializer($"{dense.Name}.bias", dense.Bias, dense.OutFeatures);
                return builder.Node("Gemm", [input, w, b], name: dense.Name, attributes: [Attribute("transB", 1L)])[0];
            default:
                throw new NotSupportedException($"Layer '{layer.Name}' of type {layer.GetType().Name} cannot be exported.");
        }
    }

    /// <summary>
    /// The layers one after another from <paramref name="input"/> (the identity when there are none); returns the last output.
    /// </summary>
    private static string EmitChain(OnnxGraphBuilder builder, IEnumerable<NetworkLayer> layers, string input) =>
        layers.Aggregate(input, (current, layer) => EmitForward(builder, layer, current));

    /// <summary>
    /// The head, the layers after the Grad-CAM layer, is differentiated by the same rules as an imported model's
    /// (<see cref="HeadDifferentiator"/>), fed with the shapes the network description gives.
    /// </summary>
    private static void EmitGradCam(OnnxGraphBuilder builder, SequentialNetwork network, IReadOnlyList<FeatureShape> shapes,
        string[] outputs, List<NodeProto> head, int classCount)
    {
        var camShape = shapes[network.GradCamLayerIndex];
        var tensorShapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        for (int index = network.GradCamLayerIndex; index < network.Layers.Count; index++)
        {
            tensorShapes[outputs[index]] = shapes[index].Features is int features
                ? [1, features]
                : [1, shapes[index].Channels, shapes[index].Height, shapes[index].Width];
        }
        string featureMap = outputs[network.GradCamLayerIndex];
        // In a sequential network everything the head computes depends on the feature map.
        var dependent = new HashSet<string>(head.SelectMany(node => node.Output).Append(featureMap), StringComparer.Ordinal);
        string oneHot = GradCamGraph.EmitClassSelection(builder, ModelTensorNames.Logits, classCount).OneHot;
        string gradient;
        try
        {
            gradient = new HeadDifferentiator(builder, tensorShapes, OpsetVersion)
                .Differentiate(head, dependent, outputs[^1], oneHot, featureMap);
        }
        catch (GradCamGraphException ex)
        {
            throw new NotSupportedException($"{ex.Message} Move the Grad-CAM layer later in the network.", ex);
        }
        GradCamGraph.EmitCam(builder, gradient, featureMap, spatialAxes: [2, 3], channelAxis: 1, OpsetVersion, ModelTensorNames.Cam);
        builder.Output(ModelTensorNames.Cam, DataType.Float, BatchDimension, camShape.Height, camShape.Width);
        builder.Output(ModelTensorNames.CamClass, DataType.Int64, BatchDimension);
        GradCamGraph.EmitFeatures(builder, featureMap, spatialAxes: [2, 3], OpsetVersion, ModelTensorNames.Features);
        builder.Output(ModelTensorNames.Features, DataType.Float, BatchDimension, camShape.Channels);
        var (camGradient, camActivation) = GradCamGraph.EmitCamInputs(builder, gradient, featureMap, channelAxis: 1);
        builder.Output(camGradient, DataType.Float, BatchDimension, camShape.Channels, camShape.Height, camShape.Width);
        builder.Output(camActivation, DataType.Float, BatchDimension, camShape.Channels, camShape.Height, camShape.Width);
    }

    /// <summary>
    /// Adds the <c>cam_gradient</c> and <c>cam_activation</c> outputs (<see cref="GradCamGraph.EmitCamInputs"/>) to a package written
    /// before they existed, by following its <paramref name="cam"/> output back through the nodes <see cref="GradCamGraph.EmitCam"/>
    /// wrote: Relu(ReduceSum(Mul(ReduceMean(gradient), activation))). Returns their names.
    /// </summary>
    public static (string Gradient, string Activation) AddCamInputsOutputs(ModelProto model, string cam, int channels, int height,
        int width)
    {
        var graph = model.Graph;
        var producers = graph.Node.SelectMany(node => node.Output.Select(output => (output, node)))
            .ToDictionary(p => p.output, p => p.node);
        NodeProto Producer(string tensor, string opType) =>
            producers.TryGetValue(tensor, out var node) && node.OpType == opType
                ? node
                : throw new InvalidOperationException($"'{cam}' is not computed as Grad-CAM is here (no {opType} producing '{tensor}'); " +
                    "re-export or re-import the model.");
        var relu = Producer(cam, "Relu");
        var sum = Producer(relu.Input[0], "ReduceSum");
        var product = Producer(sum.Input[0], "Mul");
        var weights = Producer(product.Input[0], "ReduceMean");
        var builder = new OnnxGraphBuilder(graph, ModelTensorNames.All);
        var (gradient, activation) = GradCamGraph.EmitCamInputs(builder, weights.Input[0], product.Input[1], channelAxis: 1);
        builder.Output(gradient, DataType.Float, BatchDimension, channels, height, width);
        builder.Output(activation, DataType.Float, BatchDimension, channels, height, width);
        return (gradient, activation);
    }

    /// <summary>
    /// Adds the <c>features</c> output (<see cref="GradCamGraph.EmitFeatures"/>) to a package written before it existed;
    /// <paramref name="layer"/> is its Grad-CAM layer, an NCHW tensor. Returns the output's name.
    /// </summary>
    public static string AddFeaturesOutput(ModelProto model, string layer, int channels)
    {
        var graph = model.Graph;
        if (!graph.Node.Any(node => node.Output.Contains(layer)))
        {
            throw new InvalidOperationException($"The ONNX graph computes no tensor '{layer}' (the manifest's Grad-CAM layer).");
        }
        long opset = model.OpsetImport.First(o => o.Domain is "" or "ai.onnx").Version;
        var builder = new OnnxGraphBuilder(graph, ModelTensorNames.All);
        string features = builder.FreshName(ModelTensorNames.Features);
        GradCamGraph.EmitFeatures(builder, layer, spatialAxes: [2, 3], opset, features);
        builder.Output(features, DataType.Float, BatchDimension, channels);
        return features;
    }
}
