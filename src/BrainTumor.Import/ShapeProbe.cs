using BrainTumor.Onnx.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace BrainTumor.Import;

/// <summary>
/// The shape of every float tensor of a graph for a batch of one, found by running the model once on a
/// mid-gray input with every node output exposed. Files written by other tools rarely carry these shapes.
/// </summary>
internal static class ShapeProbe
{
    public static Dictionary<string, long[]> Run(ModelProto model, string inputName, long[] inputShape)
    {
        var probe = model.Clone();
        var existing = probe.Graph.Output.Select(o => o.Name).ToHashSet();
        foreach (var output in probe.Graph.Node.SelectMany(n => n.Output).Where(o => o.Length > 0 && !existing.Contains(o)))
        {
            probe.Graph.Output.Add(new ValueInfoProto { Name = output });
        }
        using var options = new SessionOptions
        {
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
        };
        InferenceSession session;
        try
        {
            session = new InferenceSession(probe.ToByteArray(), options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ImportException($"ONNX Runtime cannot load the model: {ex.Message}");
        }
        using (session)
        {
            var data = new float[inputShape.Aggregate(1L, (a, b) => a * b)];
            Array.Fill(data, 0.5f);
            using var input = OrtValue.CreateTensorValueFromMemory(data, inputShape);
            var names = session.OutputMetadata.Where(o => o.Value.ElementDataType == TensorElementType.Float).Select(o => o.Key).ToList();
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, new Dictionary<string, OrtValue> { [inputName] = input }, names);
            var shapes = names.Select((name, i) => (name, shape: results[i].GetTensorTypeAndShape().Shape))
                .ToDictionary(x => x.name, x => x.shape);
            foreach (var initializer in model.Graph.Initializer)
            {
                shapes.TryAdd(initializer.Name, initializer.Dims.ToArray());
            }
            return shapes;
        }
    }
}
