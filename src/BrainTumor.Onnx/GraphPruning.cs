using BrainTumor.Onnx.Proto;

namespace BrainTumor.Onnx;

/// <summary>A graph cut in two by <see cref="GraphPruning.Split"/>.</summary>
public sealed record GraphSplit(ModelProto First, ModelProto Rest, IReadOnlyList<string> Boundary);

/// <summary>Which nodes a graph's tensors depend on, and a graph cut in two: what some of its outputs need, and the rest.</summary>
public static class GraphPruning
{
    /// <summary>The nodes <paramref name="tensors"/> depend on, their producers included.</summary>
    public static HashSet<NodeProto> Ancestors(GraphProto graph, params IEnumerable<string> tensors)
    {
        var producers = graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n, StringComparer.Ordinal);
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
    /// <paramref name="model"/> cut in two, sharing no node: <see cref="GraphSplit.First"/> computes <paramref name="outputs"/> (the
    /// nodes they depend on) and also outputs <see cref="GraphSplit.Boundary"/>, the tensors of its own that the rest reads;
    /// <see cref="GraphSplit.Rest"/> computes the other outputs from those, as inputs, and from the graph inputs it reads. Each
    /// part keeps only the initializers it reads, and the tensors' bytes are shared with the model, not copied. The boundary's
    /// value infos carry no type: the rest's inputs need one, which a session over the first part tells (ONNX Runtime infers
    /// the types of outputs).
    /// </summary>
    public static GraphSplit Split(ModelProto model, IReadOnlyCollection<string> outputs)
    {
        var graph = model.Graph;
        var kept = Ancestors(graph, outputs);
        var produced = graph.Node.Where(kept.Contains).SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        var restNodes = graph.Node.Where(n => !kept.Contains(n)).ToList();
        var restReads = restNodes.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var boundary = graph.Node.Where(kept.Contains).SelectMany(n => n.Output).Where(restReads.Contains).Distinct().ToList();

        var first = model.Clone();
        var firstGraph = first.Graph;
        Keep(firstGraph, firstGraph.Node.Where((_, i) => kept.Contains(graph.Node[i])).ToList(), outputs.ToHashSet(StringComparer.Ordinal));
        firstGraph.Output.Add(boundary.Where(name => !outputs.Contains(name)).Select(name => new ValueInfoProto { Name = name }));

        var rest = model.Clone();
        var restGraph = rest.Graph;
        Keep(restGraph, restGraph.Node.Where((_, i) => !kept.Contains(graph.Node[i])).ToList(),
            graph.Output.Select(o => o.Name).Where(o => !outputs.Contains(o)).ToHashSet(StringComparer.Ordinal));
        restGraph.Input.Add(boundary.Select(name => new ValueInfoProto { Name = name }));
        RemoveWhere(restGraph.ValueInfo, v => produced.Contains(v.Name));
        return new GraphSplit(first, rest, boundary);
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
