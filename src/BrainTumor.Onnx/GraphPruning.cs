using BrainTumor.Onnx.Proto;

namespace BrainTumor.Onnx;

/// <summary>A graph cut in two by <see cref="GraphPruning.Split"/>.</summary>
public sealed record GraphSplit(ModelProto First, ModelProto Rest, IReadOnlyList<string> Boundary);

/// <summary>Which nodes a graph's tensors depend on, and a graph cut in two: what some of its outputs need, and the rest.</summary>
public static class GraphPruning
{
    /// <summary>The node that computes each tensor; an optional output left unnamed ("") is no tensor.</summary>
    public static Dictionary<string, NodeProto> Producers(GraphProto graph) =>
        graph.Node.SelectMany(node => node.Output.Where(o => o.Length > 0).Select(output => (output, node)))
            .ToDictionary(p => p.output, p => p.node, StringComparer.Ordinal);

    /// <summary>The nodes <paramref name="tensors"/> depend on, their producers included.</summary>
    public static HashSet<NodeProto> Ancestors(GraphProto graph, params IEnumerable<string> tensors)
    {
        var producers = Producers(graph);
        var found = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<string>();
        foreach (string tensor in tensors)
        {
            pending.Push(producers.ContainsKey(tensor)
                ? tensor
                : throw new ArgumentException($"No node computes '{tensor}'.", nameof(tensors)));
        }
        while (pending.TryPop(out var next))
        {
            if (producers.TryGetValue(next, out var node) && found.Add(node))
            {
                foreach (string input in node.Input)
                {
                    pending.Push(input);
                }
            }
        }
        return found;
    }

    /// <summary>
    /// <paramref name="model"/> cut in two: <see cref="GraphSplit.First"/> computes <paramref name="outputs"/> (the nodes they depend
    /// on) and also outputs <see cref="GraphSplit.Boundary"/>, the tensors of its own that the rest reads; <see cref="GraphSplit.Rest"/>
    /// computes the other outputs from those, as inputs, and from the graph inputs it reads. Each part keeps only the
    /// initializers it reads, and the tensors' bytes are shared with the model, not copied. The boundary's value infos carry no
    /// type: the rest's inputs need one, which a session over the first part tells (ONNX Runtime infers the types of outputs).
    /// </summary>
    /// <exception cref="ArgumentException">No node computes one of <paramref name="outputs"/>.</exception>
    /// <exception cref="NotSupportedException">A node has a subgraph (If, Loop, Scan).</exception>
    public static GraphSplit Split(ModelProto model, IReadOnlyCollection<string> outputs)
    {
        var graph = model.Graph;
        // Which nodes a tensor depends on, and which initializers a part keeps, are read from the nodes' own inputs; the
        // tensors a subgraph reads from around it are not among them.
        if (graph.Node.FirstOrDefault(n => n.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0)) is { } control)
        {
            throw new NotSupportedException($"The node '{control.Name}' ({control.OpType}) has a subgraph, which the cut does not follow.");
        }
        var first = Ancestors(graph, outputs);
        var firstReads = first.SelectMany(n => n.Input).Concat(outputs).ToHashSet(StringComparer.Ordinal);
        var laterReads = graph.Node.Where(n => !first.Contains(n)).SelectMany(n => n.Input)
            .Concat(graph.Output.Select(o => o.Name).Where(o => !outputs.Contains(o))).ToHashSet(StringComparer.Ordinal);
        // A MaxPool whose indices the first part does not read pools without them there: ONNX Runtime then runs it on the 8-bit
        // values of a QDQ model. When the rest reads them (the Grad-CAM gradient asks for them), it pools again there, with them.
        var unindexed = first.Where(n => n.OpType == "MaxPool" && n.Output.Count > 1 && n.Output[1].Length > 0
                                         && !firstReads.Contains(n.Output[1]))
            .ToHashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var pooledAgain = unindexed.Where(n => laterReads.Contains(n.Output[1])).ToHashSet(ReferenceEqualityComparer.Instance);
        bool InRest(NodeProto node) => !first.Contains(node) || pooledAgain.Contains(node);
        var restProduced = graph.Node.Where(InRest).SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        var restReads = graph.Node.Where(InRest).SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var boundary = graph.Node.Where(first.Contains).SelectMany(n => n.Output)
            .Where(name => restReads.Contains(name) && !restProduced.Contains(name)).Distinct().ToList();

        var firstModel = model.Clone();
        var firstGraph = firstModel.Graph;
        var firstNodes = firstGraph.Node.Where((_, i) => first.Contains(graph.Node[i])).ToList();
        foreach (var pool in firstGraph.Node.Where((_, i) => unindexed.Contains(graph.Node[i])))
        {
            pool.Output.RemoveAt(1);
        }
        Keep(firstGraph, firstNodes, outputs.ToHashSet(StringComparer.Ordinal));
        firstGraph.Output.Add(boundary.Where(name => !outputs.Contains(name)).Select(name => new ValueInfoProto { Name = name }));

        var rest = model.Clone();
        var restGraph = rest.Graph;
        Keep(restGraph, restGraph.Node.Where((_, i) => InRest(graph.Node[i])).ToList(),
            graph.Output.Select(o => o.Name).Where(o => !outputs.Contains(o)).ToHashSet(StringComparer.Ordinal));
        restGraph.Input.Add(boundary.Select(name => new ValueInfoProto { Name = name }));
        RemoveWhere(restGraph.ValueInfo, v => boundary.Contains(v.Name));
        return new GraphSplit(firstModel, rest, boundary);
    }

    /// <summary>
    /// Cuts <paramref name="graph"/> down to <paramref name="nodes"/> (its own, in order), the outputs named and what they read.
    /// </summary>
    private static void Keep(GraphProto graph, List<NodeProto> nodes, HashSet<string> outputs)
    {
        graph.Node.Clear();
        graph.Node.Add(nodes);
        var read = nodes.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var produced = nodes.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        RemoveWhere(graph.Output, o => !outputs.Contains(o.Name));
        RemoveWhere(graph.Input, i => !read.Contains(i.Name));
        RemoveWhere(graph.Initializer, i => !read.Contains(i.Name));
        RemoveWhere(graph.ValueInfo, v => !produced.Contains(v.Name) && !read.Contains(v.Name));
    }

    private static void RemoveWhere<T>(IList<T> items, Func<T, bool> remove)
    {
        for (int i = items.Count - 1; i >= 0; i--)
        {
            if (remove(items[i]))
            {
                items.RemoveAt(i);
            }
        }
    }
}
