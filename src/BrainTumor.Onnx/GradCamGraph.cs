using BrainTumor.Onnx.Proto;
using static BrainTumor.Onnx.OnnxGraphBuilder;
using DataType = BrainTumor.Onnx.Proto.TensorProto.Types.DataType;

namespace BrainTumor.Onnx;

/// <summary>
/// The parts of the Grad-CAM graph that do not depend on the network: choosing the class, and combining gradient and activation.
/// </summary>
public static class GradCamGraph
{
    /// <summary>
    /// Names of the class-selection tensors, <c>target_class</c> and <c>cam_class</c> unless the graph already used them.
    /// </summary>
    public sealed record ClassSelection(string OneHot, string TargetClass, string CamClass);

    /// <summary>
    /// Adds the optional input <c>target_class</c> (default [-1], broadcast over the batch: the predicted
    /// class), the output <c>cam_class</c>, and the one-hot gradient of the chosen logit with respect to the
    /// logits, [N, classes].
    /// </summary>
    public static ClassSelection EmitClassSelection(OnnxGraphBuilder builder, string logits, int classCount)
    {
        string targetClass = builder.Initializer(builder.FreshName(ModelTensorNames.TargetClass), [-1L], 1);
        builder.Input(targetClass, DataType.Int64, "target_count");
        string predicted = builder.Single("ArgMax", [logits], Attribute("axis", 1L), Attribute("keepdims", 0L));
        string usePredicted = builder.Single("Less", targetClass, builder.Initializer("zero_index", [0L]));
        string camClass = builder.Node("Where", [usePredicted, predicted, targetClass],
            outputs: [builder.FreshName(ModelTensorNames.CamClass)])[0];
        string depth = builder.Initializer("class_count", [(long)classCount], 1);
        string oneHotValues = builder.Initializer("one_hot_values", [0f, 1f], 2);
        return new ClassSelection(builder.Single("OneHot", [camClass, depth, oneHotValues], Attribute("axis", -1L)), targetClass, camClass);
    }

    /// <summary>
    /// cam = ReLU(sum over channels of (spatial mean of the gradient) x activation), named <paramref name="camName"/>.
    /// Uses the ReduceMean/ReduceSum forms of <paramref name="opset"/> (13 or newer).
    /// </summary>
    public static void EmitCam(OnnxGraphBuilder builder, string gradient, string activation, long[] spatialAxes, long channelAxis,
        long opset, string camName)
    {
        string channelWeights = ReduceMean(builder, gradient, spatialAxes, keepDims: true, opset);
        string weighted = builder.Single("Mul", channelWeights, activation);
        string summed = builder.Single("ReduceSum", [weighted, builder.Initializer("channel_axis", [channelAxis], 1)],
            Attribute("keepdims", 0L));
        builder.Node("Relu", [summed], outputs: [camName]);
    }

    /// <summary>
    /// The penultimate features the out-of-distribution score uses: the Grad-CAM layer's activation averaged over its
    /// spatial axes, [N, C], named <paramref name="featuresName"/>. It comes out of the same run as the probabilities.
    /// </summary>
    public static void EmitFeatures(OnnxGraphBuilder builder, string activation, long[] spatialAxes, long opset, string featuresName) =>
        builder.Node("Identity", [ReduceMean(builder, activation, spatialAxes, keepDims: false, opset)], outputs: [featuresName]);

    /// <summary>
    /// Outputs the Grad-CAM layer's activation and the gradient of the explained logit with respect to it, channels first
    /// ([N, C, H, W]; a channels-last pair is transposed), so that other maps than Grad-CAM (HiResCAM, Grad-CAM++) can be
    /// computed from the same run. Returns their names.
    /// </summary>
    public static (string Gradient, string Activation) EmitCamInputs(OnnxGraphBuilder builder, string gradient, string activation,
        long channelAxis)
    {
        string ChannelsFirst(string tensor) =>
            channelAxis == 1 ? tensor : builder.Single("Transpose", [tensor], Attribute("perm", 0L, 3L, 1L, 2L));
        string gradientName = builder.FreshName(ModelTensorNames.CamGradient),
            activationName = builder.FreshName(ModelTensorNames.CamActivation);
        builder.Node("Identity", [ChannelsFirst(gradient)], outputs: [gradientName]);
        builder.Node("Identity", [ChannelsFirst(activation)], outputs: [activationName]);
        return (gradientName, activationName);
    }

    /// <summary>ReduceMean takes its axes as an attribute before opset 18 and as an input from 18 on.</summary>
    public static string ReduceMean(OnnxGraphBuilder builder, string input, long[] axes, bool keepDims, long opset) =>
        opset >= 18
            ? builder.Single("ReduceMean", [input, builder.Initializer("reduce_axes", axes, axes.Length)],
                Attribute("keepdims", keepDims ? 1L : 0L))
            : builder.Single("ReduceMean", [input], Attribute("axes", axes), Attribute("keepdims", keepDims ? 1L : 0L));

    /// <summary>
    /// The gradient of a max pooling: each pooled gradient goes back to where its maximum came from
    /// (<paramref name="indices"/>, flat indices into the input). Overlapping windows can share a maximum, so
    /// their gradients are summed (ScatterElements with reduction add); MaxUnpool, which overwrites, is only
    /// right when windows do not overlap.
    /// </summary>
    public static string MaxPoolGradient(OnnxGraphBuilder builder, string outputGradient, string indices, string input,
        IReadOnlyList<AttributeProto> poolAttributes, bool overlapping)
    {
        string inputShape = builder.Single("Shape", input);
        if (!overlapping)
        {
            return builder.Node("MaxUnpool", [outputGradient, indices, inputShape], attributes: poolAttributes)[0];
        }
        string flat = builder.Initializer("flat_shape", [-1L], 1);
        string size = builder.Single("Reshape", builder.Single("Size", input), flat);
        var zero = new Proto.TensorProto { DataType = (int)DataType.Float, Dims = { 1 }, FloatData = { 0f } };
        string zeros = builder.Node("ConstantOfShape", [size],
            attributes: [new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = zero }])[0];
        string summed = builder.Single("ScatterElements",
            [zeros, builder.Single("Reshape", indices, flat), builder.Single("Reshape", outputGradient, flat)],
            Attribute("axis", 0L),
            new AttributeProto
            {
                Name = "reduction", Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("add"),
            });
        return builder.Single("Reshape", summed, inputShape);
    }
}
