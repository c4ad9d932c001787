using System.Runtime.InteropServices;
using BrainTumor.Onnx.Proto;
using static BrainTumor.Onnx.OnnxGraphBuilder;
using DataType = BrainTumor.Onnx.Proto.TensorProto.Types.DataType;

namespace BrainTumor.Onnx;

/// <summary>The smallest and largest value calibration accepts for one activation tensor.</summary>
public readonly record struct ActivationRange(float Min, float Max);

/// <summary>
/// Rewrites a float model in ONNX's QDQ form (QuantizeLinear / DequantizeLinear pairs) so that ONNX Runtime runs its
/// convolutions, residual additions and the head's dense layers but the last with 8-bit kernels: weights int8, symmetric, one
/// scale per output channel; activations uint8, one scale and zero point per tensor, from calibrated ranges; biases int32 at
/// the product scale. Everything else (Grad-CAM's graph, the rest of the head, gates) stays in float and reads the dequantised
/// activations.
/// </summary>
public static class QdqQuantizer
{
    private static readonly HashSet<string> QuantizedOps = new(StringComparer.Ordinal) { "Conv", "Add" };
    // An activation between a quantised op and its Q node is folded into the quantisation by ONNX Runtime (ReluQuantFusion,
    // ClipQuantFusion) when the zero point is the type's minimum, which a range starting at 0 gives.
    private static readonly HashSet<string> FoldedActivations = new(StringComparer.Ordinal) { "Relu", "Clip" };

    /// <summary>
    /// The activation tensors that get a Q/DQ pair, in graph order: in the layers that compute <paramref name="trunkEnd"/> (the
    /// Grad-CAM layer), the inputs of every Conv and Add, and their outputs (after a Relu or Clip that only they feed); after
    /// it, the input of each of the head's dense layers (<see cref="DenseLayers"/>), whose output stays float. A MaxPool fed by
    /// one of the trunk's passes it on: its output shares the input's scale, so that it runs on the 8-bit values directly.
    /// </summary>
    public static IReadOnlyList<string> ActivationTensors(GraphProto graph, string trunkEnd, string logits)
    {
        var (trunk, denseLayers) = QuantizedLayers(graph, trunkEnd, logits);
        return ActivationTensors(graph, trunk, denseLayers);
    }

    /// <summary>The nodes that compute <paramref name="trunkEnd"/>, and the head's <see cref="DenseLayers"/> after them.</summary>
    private static (HashSet<NodeProto> Trunk, Dictionary<NodeProto, int> DenseLayers) QuantizedLayers(GraphProto graph,
        string trunkEnd, string logits)
    {
        var trunk = GraphPruning.Ancestors(graph, trunkEnd);
        return (trunk, DenseLayers(graph, trunk, logits));
    }

    private static IReadOnlyList<string> ActivationTensors(GraphProto graph, HashSet<NodeProto> trunk,
        Dictionary<NodeProto, int> denseLayers)
    {
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var consumers = Consumers(graph);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node.Where(n => QuantizedOps.Contains(n.OpType) && trunk.Contains(n)))
        {
            var activations = node.OpType == "Conv" ? node.Input.Take(1) : node.Input;
            chosen.UnionWith(activations.Where(input => !initializers.Contains(input)));
            string output = node.Output[0];
            while (!outputs.Contains(output) && consumers.TryGetValue(output, out var next) && next.Count == 1
                   && FoldedActivations.Contains(next[0].OpType))
            {
                output = next[0].Output[0];
            }
            chosen.Add(output);
        }
        foreach (var pool in graph.Node.Where(n => n.OpType == "MaxPool" && trunk.Contains(n) && chosen.Contains(n.Input[0])))
        {
            chosen.Add(pool.Output[0]);
        }
        chosen.UnionWith(denseLayers.Keys.Select(dense => dense.Input[0]));
        var order = graph.Input.Select(i => i.Name).Concat(graph.Node.SelectMany(n => n.Output)).ToList();
        return order.Where(chosen.Contains).ToList();
    }

    /// <summary>A copy of <paramref name="model"/> that also outputs <paramref name="tensors"/>, for measuring their ranges.</summary>
    public static ModelProto WithOutputs(ModelProto model, IEnumerable<string> tensors)
    {
        var copy = model.Clone();
        var existing = copy.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (string tensor in tensors.Where(t => !existing.Contains(t)))
        {
            copy.Graph.Output.Add(new ValueInfoProto
            {
                Name = tensor,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } },
            });
        }
        return copy;
    }

    /// <summary>
    /// The QDQ model. <paramref name="ranges"/> holds a range for every tensor of <see cref="ActivationTensors"/> (a MaxPool's
    /// output is given its input's range whatever is passed).
    /// </summary>
    public static ModelProto Quantize(ModelProto model, string trunkEnd, string logits, IReadOnlyDictionary<string, ActivationRange> ranges)
    {
        var quantized = model.Clone();
        var graph = quantized.Graph;
        var (trunk, layers) = QuantizedLayers(graph, trunkEnd, logits);
        var tensors = ActivationTensors(graph, trunk, layers);
        var producers = GraphPruning.Producers(graph);
        var parameters = new Dictionary<string, (float Scale, byte ZeroPoint)>(StringComparer.Ordinal);
        foreach (string tensor in tensors)
        {
            parameters[tensor] = producers.TryGetValue(tensor, out var producer) && producer.OpType == "MaxPool"
                                 && parameters.TryGetValue(producer.Input[0], out var shared)
                ? shared
                : Uint8Parameters(ranges.TryGetValue(tensor, out var range)
                    ? range
                    : throw new ArgumentException($"No calibrated range for the activation '{tensor}'.", nameof(ranges)));
        }

        foreach (var conv in graph.Node.Where(n => n.OpType == "Conv" && trunk.Contains(n)))
        {
            layers[conv] = 0;
        }
        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var nodes = graph.Node.ToList();
        var readBefore = nodes.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        // Made before the nodes are taken out, so that it knows their names and new nodes do not reuse them.
        var builder = new OnnxGraphBuilder(graph, ModelTensorNames.All);
        graph.Node.Clear();
        var weights = new Dictionary<string, Int8Weight>(StringComparer.Ordinal);
        foreach (var (layer, axis) in layers)
        {
            weights.TryAdd(layer.Input[1], EmitWeight(builder, initializers[layer.Input[1]], axis));
        }
        var folded = new Dictionary<string, string>(StringComparer.Ordinal);
        var dequantised = new Dictionary<string, (string Name, float Scale)>(StringComparer.Ordinal);
        foreach (var input in graph.Input.Where(i => parameters.ContainsKey(i.Name)))
        {
            dequantised[input.Name] = EmitQdq(builder, input.Name, parameters[input.Name]);
        }
        foreach (var node in nodes)
        {
            if (layers.ContainsKey(node))
            {
                var weight = weights[node.Input[1]];
                node.Input[1] = builder.Single("DequantizeLinear", [weight.Values, weight.Scale, weight.ZeroPoint],
                    Attribute("axis", (long)weight.Axis));
                if (node.Input.Count > 2 && node.Input[2].Length > 0)
                {
                    node.Input[2] = EmitBias(builder, initializers[node.Input[2]], weight.Scales, dequantised[node.Input[0]].Scale);
                }
            }
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (dequantised.TryGetValue(node.Input[i], out var replacement))
                {
                    node.Input[i] = replacement.Name;
                }
                else if (weights.TryGetValue(node.Input[i], out var weight))
                {
                    // Another reader of a layer's weight (the Grad-CAM graph's MatMul) gets the dequantised int8 weight.
                    node.Input[i] = folded.TryGetValue(node.Input[i], out var constant)
                        ? constant
                        : folded[node.Input[i]] = EmitConstant(builder, weight);
                }
            }
            graph.Node.Add(node);
            foreach (string output in node.Output.Where(parameters.ContainsKey))
            {
                dequantised[output] = EmitQdq(builder, output, parameters[output]);
            }
        }
        // The float weights the int8 ones replace are no longer read.
        var read = graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        foreach (var unused in graph.Initializer.Where(i => !read.Contains(i.Name) && readBefore.Contains(i.Name)).ToList())
        {
            graph.Initializer.Remove(unused);
        }
        return quantized;
    }

    /// <summary>uint8 scale and zero point covering the range and 0 (so that zero padding is exact).</summary>
    public static (float Scale, byte ZeroPoint) Uint8Parameters(ActivationRange range)
    {
        float min = Math.Min(range.Min, 0f);
        float max = Math.Max(range.Max, 0f);
        float scale = max > min ? (max - min) / 255f : 1f;
        return (scale, (byte)Math.Clamp(MathF.Round(-min / scale), 0, 255));
    }

    private static (string Name, float Scale) EmitQdq(OnnxGraphBuilder builder, string tensor, (float Scale, byte ZeroPoint) parameters)
    {
        string scale = builder.Initializer($"{tensor}_scale", [parameters.Scale]);
        string zeroPoint = builder.Initializer($"{tensor}_zero_point", DataType.Uint8, [parameters.ZeroPoint]);
        string quantized = builder.Node("QuantizeLinear", [tensor, scale, zeroPoint], name: $"{tensor}_quantize")[0];
        return (builder.Node("DequantizeLinear", [quantized, scale, zeroPoint], name: $"{tensor}_dequantize")[0], parameters.Scale);
    }

    /// <summary>
    /// The head's dense layers that get int8 weights, each with its weight's axis of output columns: the Gemm and MatMul nodes
    /// after <paramref name="trunk"/> that the logits depend on, multiplying an activation by a constant matrix (a Gemm with a
    /// bias of one value per column, alpha and beta 1, as ONNX Runtime's QGemm takes it), but not the last. The Grad-CAM
    /// graph's MatMuls read the same weights but compute no logit, so they are not among them.
    /// </summary>
    private static Dictionary<NodeProto, int> DenseLayers(GraphProto graph, HashSet<NodeProto> trunk, string logits)
    {
        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var layers = new Dictionary<NodeProto, int>(ReferenceEqualityComparer.Instance);
        foreach (var node in GraphPruning.Ancestors(graph, logits).Where(n => !trunk.Contains(n) && n.OpType is "Gemm" or "MatMul"))
        {
            if (initializers.ContainsKey(node.Input[0]) || !initializers.TryGetValue(node.Input[1], out var weight)
                || weight.Dims.Count != 2)
            {
                continue;
            }
            if (node.OpType == "MatMul")
            {
                layers[node] = 1;
                continue;
            }
            int columns = (IntAttribute(node, "transB") ?? 0) == 1 ? 0 : 1;
            // A bias Gemm broadcasts (one value for every column, say) has no scale per column to be quantised with.
            bool plainBias = node.Input.Count < 3 || node.Input[2].Length == 0
                || (initializers.TryGetValue(node.Input[2], out var bias) && bias.Dims.Count == 1 && bias.Dims[0] == weight.Dims[columns]);
            if (plainBias && (IntAttribute(node, "transA") ?? 0) == 0 && (FloatAttribute(node, "alpha") ?? 1f) == 1f
                && (FloatAttribute(node, "beta") ?? 1f) == 1f)
            {
                layers[node] = columns;
            }
        }
        // The layers whose output no other dense layer reads compute the logits: they stay float, being small, and an 8-bit
        // input to them cost custom-cnn answers on the hold-out (docs/operations.md#8-bit-packages).
        var feeding = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        foreach (var layer in layers.Keys)
        {
            feeding.UnionWith(GraphPruning.Ancestors(graph, layer.Output[0]).Where(node => node != layer));
        }
        return layers.Where(layer => feeding.Contains(layer.Key)).ToDictionary(ReferenceEqualityComparer.Instance);
    }

    private static long? IntAttribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I;
    private static float? FloatAttribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.F;

    /// <summary>A layer's weight stored as int8 (<see cref="Values"/>), with one scale per index of <see cref="Axis"/>.</summary>
    private sealed record Int8Weight(string Values, string Scale, string ZeroPoint, float[] Scales, int Axis, int Rank);

    /// <summary>
    /// int8 weights with one symmetric scale per index of <paramref name="outputAxis"/> (a convolution's output channel, a dense
    /// layer's output column).
    /// </summary>
    private static Int8Weight EmitWeight(OnnxGraphBuilder builder, TensorProto weight, int outputAxis)
    {
        float[] values = FloatValues(weight);
        int channels = (int)weight.Dims[outputAxis];
        int inner = (int)weight.Dims.Skip(outputAxis + 1).Aggregate(1L, (a, b) => a * b);
        int outer = values.Length / (channels * inner);
        int Index(int o, int c, int i) => (o * channels + c) * inner + i;
        var scales = new float[channels];
        var quantized = new byte[values.Length];
        for (int c = 0; c < channels; c++)
        {
            float largest = 0;
            for (int o = 0; o < outer; o++)
            {
                foreach (float v in values.AsSpan(Index(o, c, 0), inner))
                {
                    largest = Math.Max(largest, Math.Abs(v));
                }
            }
            scales[c] = largest > 0 ? largest / 127f : 1f;
            for (int o = 0; o < outer; o++)
            {
                for (int i = 0; i < inner; i++)
                {
                    quantized[Index(o, c, i)] = (byte)(sbyte)Math.Clamp(MathF.Round(values[Index(o, c, i)] / scales[c]), -127, 127);
                }
            }
        }
        return new Int8Weight(builder.Initializer($"{weight.Name}_int8", DataType.Int8, quantized, [.. weight.Dims]),
            builder.Initializer($"{weight.Name}_scale", scales, channels),
            builder.Initializer($"{weight.Name}_zero_point", DataType.Int8, new byte[channels], channels),
            scales, outputAxis, weight.Dims.Count);
    }

    /// <summary>The int32 bias at scale input x weight, one per output channel.</summary>
    private static string EmitBias(OnnxGraphBuilder builder, TensorProto bias, float[] weightScales, float inputScale)
    {
        float[] values = FloatValues(bias);
        var scales = weightScales.Select(s => s * inputScale).ToArray();
        var int32 = values.Select((b, c) => (int)Math.Clamp(Math.Round(b / (double)scales[c]), int.MinValue, int.MaxValue)).ToArray();
        string scale = builder.Initializer($"{bias.Name}_scale", scales, scales.Length);
        string zeroPoint = builder.Initializer($"{bias.Name}_zero_point", DataType.Int32, new byte[4 * scales.Length], scales.Length);
        string quantized = builder.Initializer($"{bias.Name}_int32", DataType.Int32, MemoryMarshal.AsBytes(int32.AsSpan()).ToArray(),
            scales.Length);
        return builder.Single("DequantizeLinear", [quantized, scale, zeroPoint], Attribute("axis", 0L));
    }

    /// <summary>
    /// The dequantised weight as a Cast and a Mul of initializers, which ONNX Runtime folds into a float initializer when it
    /// loads the model: a DequantizeLinear outside a QDQ group is not folded and would run on every Run.
    /// </summary>
    private static string EmitConstant(OnnxGraphBuilder builder, Int8Weight weight)
    {
        long[] shape = Enumerable.Range(0, weight.Rank).Select(d => d == weight.Axis ? -1L : 1L).ToArray();
        string values = builder.Single("Cast", [weight.Values], Attribute("to", (long)DataType.Float));
        string scales = builder.Single("Reshape", weight.Scale, builder.Initializer($"{weight.Scale}_shape", shape, shape.Length));
        return builder.Single("Mul", values, scales);
    }

    private static float[] FloatValues(TensorProto tensor)
    {
        if (tensor.DataType != (int)DataType.Float)
        {
            throw new NotSupportedException($"The initializer '{tensor.Name}' is not float; only float models are quantised.");
        }
        return tensor.RawData.Length > 0
            ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray()
            : tensor.FloatData.ToArray();
    }

    private static Dictionary<string, List<NodeProto>> Consumers(GraphProto graph)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (string input in node.Input)
            {
                if (!consumers.TryGetValue(input, out var list))
                {
                    consumers[input] = list = [];
                }
                list.Add(node);
            }
        }
        return consumers;
    }
}
