using BrainTumor.Onnx.Proto;
using static BrainTumor.Onnx.OnnxGraphBuilder;
using DataType = BrainTumor.Onnx.Proto.TensorProto.Types.DataType;

namespace BrainTumor.Onnx;

/// <summary>
/// Joins classifier packages that read the same input into one ONNX graph that answers as their average, so that serving,
/// evaluation and the out-of-distribution guard treat an ensemble as one package run in one ONNX Runtime call.
/// <list type="bullet">
/// <item><c>probabilities</c>: the mean of the members' (temperature-calibrated) probabilities; <c>logits</c> = log of it,
/// so that softmax(logits) gives the probabilities back.</item>
/// <item>The explained class (<c>target_class</c>, by default the ensemble's answer) is the one every member explains.</item>
/// <item>The Grad-CAM layer is the members' Grad-CAM layers side by side (channels concatenated, the same spatial size), and
/// the explained score is the mean of the members' logits for that class: <c>cam_gradient</c> is each member's gradient
/// divided by the number of members, so Grad-CAM, HiResCAM and Grad-CAM++ read the ensemble exactly as they read one
/// network. <c>features</c> are the members' features side by side.</item>
/// </list>
/// </summary>
public static class EnsembleGraph
{
    /// <summary>The tensors of a member package the ensemble reads, as its manifest names them.</summary>
    public sealed record Member(ModelProto Model, string Input, string Probabilities, string Logits, string TargetClass,
        string CamGradient, string CamActivation, string Features);

    /// <summary>The prefix of every tensor, node and initializer that came from member <paramref name="index"/> (0-based).</summary>
    public static string Prefix(int index) => $"member{index + 1}/";

    /// <param name="channels">Each member's Grad-CAM channels, in order.</param>
    public static ModelProto Join(IReadOnlyList<Member> members, IReadOnlyList<int> channels, int camHeight, int camWidth,
        int inputChannels, int inputHeight, int inputWidth, int classCount)
    {
        if (members.Count < 2)
        {
            throw new ArgumentException("An ensemble needs at least two members.", nameof(members));
        }
        long[] opsets = members.Select(m => m.Model.OpsetImport.First(o => o.Domain is "" or "ai.onnx").Version).Distinct().ToArray();
        if (opsets.Length != 1 || members.Any(m => m.Model.OpsetImport.Any(o => o.Domain is not ("" or "ai.onnx"))))
        {
            throw new InvalidOperationException(
                "The members use different ONNX opsets or custom operator domains; export them alike first.");
        }
        long opset = opsets[0];
        var graph = new GraphProto { Name = "braintumor_ensemble" };
        var builder = new OnnxGraphBuilder(graph, ModelTensorNames.All);
        builder.Input(ModelTensorNames.Input, DataType.Float, OnnxExporter.BatchDimension, inputChannels, inputHeight, inputWidth);

        // The ensemble's own class selection; every member's target_class input becomes this tensor.
        string targetClass = builder.Initializer(ModelTensorNames.TargetClass, [-1L], 1);
        builder.Input(targetClass, DataType.Int64, "target_count");
        string explained = builder.FreshName(ModelTensorNames.CamClass);

        var probabilities = new List<string>();
        var gradients = new List<string>();
        var activations = new List<string>();
        var features = new List<string>();
        var memberNodes = new List<NodeProto>();
        for (int index = 0; index < members.Count; index++)
        {
            var member = members[index];
            string prefix = Prefix(index);
            string Rename(string name) =>
                name.Length == 0 ? name
                : name == member.Input ? ModelTensorNames.Input
                : name == member.TargetClass ? explained
                : prefix + name;
            foreach (var node in member.Model.Graph.Node)
            {
                if (node.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0))
                {
                    throw new InvalidOperationException($"Member {index + 1} has control flow (node '{node.Name}'); it cannot be joined.");
                }
                var copy = node.Clone();
                copy.Name = prefix + node.Name;
                for (int i = 0; i < copy.Input.Count; i++) copy.Input[i] = Rename(copy.Input[i]);
                for (int i = 0; i < copy.Output.Count; i++) copy.Output[i] = Rename(copy.Output[i]);
                memberNodes.Add(copy);
            }
            foreach (var initializer in member.Model.Graph.Initializer.Where(i => i.Name != member.TargetClass))
            {
                var copy = initializer.Clone();
                copy.Name = prefix + initializer.Name;
                graph.Initializer.Add(copy);
            }
            probabilities.Add(prefix + member.Probabilities);
            gradients.Add(prefix + member.CamGradient);
            activations.Add(prefix + member.CamActivation);
            features.Add(prefix + member.Features);
        }
        graph.Node.AddRange(memberNodes);

        string mean = builder.Single("Mean", probabilities.ToArray());
        builder.Node("Identity", [mean], outputs: [ModelTensorNames.Probabilities]);
        // log(0) would give -inf logits where every member is certain a class is impossible; 1e-30 is far below any
        // probability that changes an answer.
        string floored = builder.Single("Max", mean, builder.Initializer("probability_floor", [1e-30f]));
        builder.Node("Log", [floored], outputs: [ModelTensorNames.Logits]);

        string predicted = builder.Single("ArgMax", [ModelTensorNames.Logits], Attribute("axis", 1L), Attribute("keepdims", 0L));
        string usePredicted = builder.Single("Less", targetClass, builder.Initializer("zero_index", [0L]));
        builder.Node("Where", [usePredicted, predicted, targetClass], outputs: [explained]);

        string share = builder.Initializer("member_share", [1f / members.Count]);
        string gradient = builder.Single("Concat", gradients.Select(g => builder.Single("Mul", g, share)), Attribute("axis", 1L));
        string activation = builder.Single("Concat", activations, Attribute("axis", 1L));
        GradCamGraph.EmitCam(builder, gradient, activation, spatialAxes: [2, 3], channelAxis: 1, opset, ModelTensorNames.Cam);
        var (camGradient, camActivation) = GradCamGraph.EmitCamInputs(builder, gradient, activation, channelAxis: 1);
        builder.Node("Concat", features, attributes: [Attribute("axis", 1L)], outputs: [ModelTensorNames.Features]);

        int totalChannels = channels.Sum();
        builder.Output(ModelTensorNames.Logits, DataType.Float, OnnxExporter.BatchDimension, classCount);
        builder.Output(ModelTensorNames.Probabilities, DataType.Float, OnnxExporter.BatchDimension, classCount);
        builder.Output(ModelTensorNames.Cam, DataType.Float, OnnxExporter.BatchDimension, camHeight, camWidth);
        builder.Output(explained, DataType.Int64, OnnxExporter.BatchDimension);
        builder.Output(ModelTensorNames.Features, DataType.Float, OnnxExporter.BatchDimension, totalChannels);
        builder.Output(camGradient, DataType.Float, OnnxExporter.BatchDimension, totalChannels, camHeight, camWidth);
        builder.Output(camActivation, DataType.Float, OnnxExporter.BatchDimension, totalChannels, camHeight, camWidth);

        SortTopologically(graph);
        var model = new ModelProto
        {
            IrVersion = members.Max(m => m.Model.IrVersion),
            ProducerName = "BrainTumor",
            ProducerVersion = "ensemble",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    /// <summary>
    /// ONNX wants every node after the nodes that produce its inputs. A member's Grad-CAM nodes read the ensemble's class,
    /// which needs every member's forward pass, so the joined nodes are reordered (Kahn's algorithm, stable).
    /// </summary>
    private static void SortTopologically(GraphProto graph)
    {
        var available = new HashSet<string>(graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(i => i.Name)).Append(""),
            StringComparer.Ordinal);
        var pending = graph.Node.ToList();
        var ordered = new List<NodeProto>(pending.Count);
        while (pending.Count > 0)
        {
            var ready = pending.Where(node => node.Input.All(available.Contains)).ToList();
            if (ready.Count == 0)
            {
                throw new InvalidOperationException(
                    $"The joined graph has a cycle or an input nothing computes (node '{pending[0].Name}').");
            }
            foreach (var node in ready)
            {
                ordered.Add(node);
                available.UnionWith(node.Output);
            }
            pending = pending.Except(ready).ToList();
        }
        graph.Node.Clear();
        graph.Node.AddRange(ordered);
    }
}
