using System.Runtime.InteropServices;
using BrainTumor.Onnx.Proto;
using Google.Protobuf;

namespace BrainTumor.Onnx;

/// <summary>Small helper that accumulates ONNX nodes, initializers and graph inputs/outputs.</summary>
public sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reserved = new(StringComparer.Ordinal);
    private readonly HashSet<string> _claimed = new(StringComparer.Ordinal);
    private int _counter;

    /// <param name="reserved">Names that generated names must avoid, kept for explicitly named inputs and outputs.</param>
    public OnnxGraphBuilder(string name, params string[] reserved)
    {
        _graph = new GraphProto { Name = name };
        _reserved.UnionWith(reserved);
    }

    /// <summary>Continues an existing graph; its tensor names are taken.</summary>
    public OnnxGraphBuilder(GraphProto existing, params string[] reserved)
    {
        _graph = existing;
        _reserved.UnionWith(reserved);
        _names.UnionWith(existing.Input.Select(i => i.Name));
        _names.UnionWith(existing.Initializer.Select(i => i.Name));
        _names.UnionWith(existing.Node.SelectMany(n => n.Output));
        _names.UnionWith(existing.Node.Select(n => n.Name).Where(n => !string.IsNullOrEmpty(n)));
    }

    public GraphProto Graph => _graph;

    /// <summary>Adds a node and returns the names of its outputs (fresh names unless given).</summary>
    public string[] Node(string opType, IEnumerable<string> inputs, int outputCount = 1,
        IEnumerable<AttributeProto>? attributes = null, string? name = null, IReadOnlyList<string>? outputs = null)
    {
        string nodeName = name ?? Unique(opType);
        var node = new NodeProto { OpType = opType, Name = nodeName };
        node.Input.AddRange(inputs);
        string[] outputNames = outputs?.ToArray() ?? Enumerable.Range(0, outputCount)
            .Select(i => Unique(outputCount == 1 ? nodeName : $"{nodeName}_out{i}")).ToArray();
        foreach (var output in outputs ?? [])
        {
            if (!_names.Add(output) && !_claimed.Remove(output))
            {
                throw new InvalidOperationException($"The tensor name '{output}' is already used in the graph.");
            }
        }
        node.Output.AddRange(outputNames);
        if (attributes is not null)
        {
            node.Attribute.AddRange(attributes);
        }
        _graph.Node.Add(node);
        return outputNames;
    }

    public string Single(string opType, params string[] inputs) => Node(opType, inputs)[0];

    /// <summary>
    /// Claims a tensor name not used yet in the graph: <paramref name="stem"/> itself when free (even if
    /// reserved), else a numbered variant. A node may then name its output with it.
    /// </summary>
    public string FreshName(string stem)
    {
        string name = _names.Add(stem) ? stem : Unique(stem);
        _claimed.Add(name);
        return name;
    }

    public string Single(string opType, IEnumerable<string> inputs, params AttributeProto[] attributes) =>
        Node(opType, inputs, attributes: attributes)[0];

    public string Initializer(string name, float[] values, params long[] dims) =>
        AddInitializer(name, TensorProto.Types.DataType.Float, dims, MemoryMarshalBytes(values));

    public string Initializer(string name, long[] values, params long[] dims) =>
        AddInitializer(name, TensorProto.Types.DataType.Int64, dims, MemoryMarshalBytes(values));

    /// <summary>An initializer of another element type, given as its little-endian bytes.</summary>
    public string Initializer(string name, TensorProto.Types.DataType type, byte[] raw, params long[] dims) =>
        AddInitializer(name, type, dims, raw);

    public void Input(string name, TensorProto.Types.DataType type, params object[] dims) =>
        _graph.Input.Add(ValueInfo(name, type, dims));

    public void Output(string name, TensorProto.Types.DataType type, params object[] dims) =>
        _graph.Output.Add(ValueInfo(name, type, dims));

    public static AttributeProto Attribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attribute(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attribute(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    private string AddInitializer(string name, TensorProto.Types.DataType type, long[] dims, byte[] raw)
    {
        // A reserved name (an overridable input's default) is used as given.
        string unique = (_reserved.Contains(name) && _names.Add(name)) || _claimed.Remove(name) ? name : Unique(name);
        var tensor = new TensorProto { Name = unique, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return unique;
    }

    private string Unique(string stem)
    {
        string name = stem;
        while (_reserved.Contains(name) || !_names.Add(name))
        {
            name = $"{stem}_{++_counter}";
        }
        return name;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"A dimension is a size or a symbol, not {dim.GetType().Name}."),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    // ONNX raw_data is little-endian, as is every platform .NET runs this on.
    private static byte[] MemoryMarshalBytes<T>(T[] values) where T : unmanaged =>
        MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}
