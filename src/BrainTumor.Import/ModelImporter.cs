using BrainTumor.Models;
using BrainTumor.Onnx;
using BrainTumor.Onnx.Proto;
using Google.Protobuf;
using DataType = BrainTumor.Onnx.Proto.TensorProto.Types.DataType;

namespace BrainTumor.Import;

/// <summary>
/// Turns an ONNX image classifier written by another tool into a model package the server serves: finds the
/// last convolutional feature map (or takes the named one), adds the Grad-CAM gradient graph by
/// differentiating the head analytically, feeds NHWC models through a transpose so that every package takes
/// NCHW input, and writes <c>model.onnx</c> and <c>model.json</c>.
/// </summary>
public static class ModelImporter
{
    // A spatial tensor made by one of these is a feature map; the head's other operators pool, reshape or project it.
    private static readonly HashSet<string> FeatureMapOperators =
        ["Conv", "Relu", "BatchNormalization", "Add", "Mul", "Identity", "Dropout", "Clip"];

    public static ModelManifest Import(ImportOptions options)
    {
        if (options.Labels.Count < 2 || options.Labels.Distinct().Count() != options.Labels.Count)
        {
            throw new ImportException("--labels must name at least two distinct classes.");
        }
        if (!File.Exists(options.OnnxPath))
        {
            throw new ImportException($"'{options.OnnxPath}' does not exist.");
        }
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(options.OnnxPath));
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new ImportException($"'{options.OnnxPath}' is not an ONNX model: {ex.Message}");
        }
        var graph = model.Graph ?? throw new ImportException($"'{options.OnnxPath}' has no graph.");
        long opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version
            ?? throw new ImportException("The model imports no standard ONNX opset.");
        if (opset < 13)
        {
            throw new ImportException($"The model uses opset {opset}; re-export it with opset 13 or newer.");
        }

        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        if (inputs.Count != 1)
        {
            throw new ImportException(
                $"The model must take exactly one image input; it takes {inputs.Count} ({string.Join(", ", inputs.Select(i => i.Name))}).");
        }
        var input = inputs[0];
        var layout = ResolveLayout(input, options);
        long[] probeShape = layout == InputLayout.Nhwc ? [1, options.Height, options.Width, 3] : [1, 3, options.Height, options.Width];
        CheckDeclaredShape(input, probeShape);
        var shapes = ShapeProbe.Run(model, input.Name, probeShape);

        var producers = GraphPruning.Producers(graph);
        string output0 = graph.Output[0].Name;
        string logits = producers.TryGetValue(output0, out var last) && last.OpType == "Softmax" ? last.Input[0] : output0;
        if (!shapes.TryGetValue(logits, out var logitShape) || logitShape.Length != 2 || logitShape[1] != options.Labels.Count)
        {
            throw new ImportException($"The model's logits '{logits}' have shape [{string.Join(", ", logitShape ?? [])}], " +
                                      $"not [N, {options.Labels.Count}] for the {options.Labels.Count} labels given.");
        }

        string featureMap = options.TargetLayer is null
            ? FindFeatureMap(logits, producers, shapes)
            : ResolveTarget(options.TargetLayer, graph, shapes);
        var builder = new OnnxGraphBuilder(graph, ModelTensorNames.All);
        graph.Output.Clear();
        string inputName = layout == InputLayout.Nhwc ? FeedChannelsFirst(builder, graph, input) : input.Name;
        string logitsOut = builder.FreshName(ModelTensorNames.Logits);
        string probabilities = builder.FreshName(ModelTensorNames.Probabilities);
        builder.Node("Identity", [logits], outputs: [logitsOut]);
        builder.Node("Softmax", [logits], attributes: [OnnxGraphBuilder.Attribute("axis", 1L)], outputs: [probabilities]);
        builder.Output(logitsOut, DataType.Float, OnnxExporter.BatchDimension, options.Labels.Count);
        builder.Output(probabilities, DataType.Float, OnnxExporter.BatchDimension, options.Labels.Count);
        var (outputs, gradCam) = EmitGradCam(builder, producers, shapes, opset, logits, featureMap, layout, options.Labels.Count,
            logitsOut, probabilities);

        Directory.CreateDirectory(options.OutputDirectory);
        OnnxExporter.Save(model, Path.Combine(options.OutputDirectory, ModelManifest.OnnxFileName));
        string name = options.Name ?? Path.GetFileName(Path.GetFullPath(options.OutputDirectory).TrimEnd('/'));
        string producer = string.IsNullOrEmpty(model.ProducerName)
            ? "unknown producer"
            : $"{model.ProducerName} {model.ProducerVersion}".Trim();
        var manifest = new ModelManifest
        {
            Name = name,
            Version = $"imported-{DateTime.UtcNow:yyyy.MM.dd}",
            Architecture = $"imported ({producer})",
            Description = $"Imported from {Path.GetFileName(options.OnnxPath)}; " +
                          $"{(layout == InputLayout.Nhwc ? "NHWC input, fed through a transpose" : "NCHW input")}. " +
                          "No training provenance or measured metrics.",
            Labels = options.Labels,
            Input = new ModelInput(inputName, "NCHW", 3, options.Height, options.Width, "RGB",
                "bilinear stretch to the input size (no padding, no crop); EXIF orientation applied first", options.Normalization),
            Outputs = outputs,
            GradCam = gradCam,
            Parameters = graph.Initializer.Sum(i => i.Dims.Aggregate(1L, (a, b) => a * b)),
        };
        manifest.Write(Path.Combine(options.OutputDirectory, ModelManifest.FileName));
        return manifest;
    }

    /// <summary>
    /// Moves a package's Grad-CAM to another layer of its network, a finer stage say: the Grad-CAM graph (and the features, the
    /// Grad-CAM layer's spatial mean) is taken out and built again at <paramref name="targetLayer"/>, while the nodes that compute
    /// the logits and probabilities stay as they are, so the package classifies exactly as before. Writes the ONNX model to
    /// <paramref name="outputOnnxPath"/> and returns the outputs and Grad-CAM layer its manifest must name.
    /// </summary>
    public static (ModelOutputs Outputs, GradCamInfo GradCam) Retarget(string onnxPath, ModelManifest manifest, string targetLayer,
        string outputOnnxPath)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath));
        var graph = model.Graph;
        long opset = model.OpsetImport.First(o => o.Domain is "" or "ai.onnx").Version;
        string logits = manifest.Outputs.Logits;
        KeepOnly(graph, [logits, manifest.Outputs.Probabilities]);
        var shapes = ShapeProbe.Run(model, manifest.Input.Name, [1, manifest.Input.Channels, manifest.Input.Height, manifest.Input.Width]);
        var producers = GraphPruning.Producers(graph);
        string featureMap = ResolveTarget(targetLayer, graph, shapes);
        var builder = new OnnxGraphBuilder(graph, ModelTensorNames.All);
        var result = EmitGradCam(builder, producers, shapes, opset, logits, featureMap, InputLayout.Nchw, manifest.Labels.Count, logits,
            manifest.Outputs.Probabilities);
        OnnxExporter.Save(model, outputOnnxPath);
        return result;
    }

    /// <summary>
    /// Adds the Grad-CAM graph for <paramref name="featureMap"/> to a graph that computes <paramref name="logits"/>: the class
    /// selection, the head's gradient, the map, the features and the map's gradient and activation, each declared as an output.
    /// Returns the package's outputs (with <paramref name="logitsOutput"/> and <paramref name="probabilities"/>, already in the graph) and
    /// the Grad-CAM layer.
    /// </summary>
    private static (ModelOutputs Outputs, GradCamInfo GradCam) EmitGradCam(OnnxGraphBuilder builder,
        Dictionary<string, NodeProto> producers, Dictionary<string, long[]> shapes, long opset, string logits, string featureMap,
        InputLayout layout, int classCount, string logitsOutput, string probabilities)
    {
        var graph = builder.Graph;
        long[] featureShape = shapes[featureMap];
        bool channelsLast = FeatureMapIsChannelsLast(featureMap, producers, layout);
        var (channels, height, width) = channelsLast
            ? (featureShape[3], featureShape[1], featureShape[2])
            : (featureShape[1], featureShape[2], featureShape[3]);
        var dependent = Dependents(graph, featureMap);
        var head = graph.Node.Where(n => n.Input.Any(dependent.Contains) && Contributes(n, logits, producers)).ToList();
        var unsupported = head.FirstOrDefault(n => !HeadDifferentiator.SupportedOperators.Contains(n.OpType));
        if (unsupported is not null)
        {
            throw new ImportException(
                $"Operator {unsupported.OpType} in node '{HeadDifferentiator.NodeName(unsupported)}' is not supported in the Grad-CAM " +
                $"head (supported: {string.Join(", ", HeadDifferentiator.SupportedOperators.Order())}); choose a later --target-layer.");
        }

        var selection = GradCamGraph.EmitClassSelection(builder, logits, classCount);
        string gradient;
        try
        {
            gradient = new HeadDifferentiator(builder, shapes, opset).Differentiate(head, dependent, logits, selection.OneHot, featureMap);
        }
        catch (GradCamGraphException ex)
        {
            throw new ImportException($"{ex.Message} Choose another --target-layer.");
        }
        long[] spatialAxes = channelsLast ? [1, 2] : [2, 3];
        string cam = builder.FreshName(ModelTensorNames.Cam);
        GradCamGraph.EmitCam(builder, gradient, featureMap, spatialAxes, channelsLast ? 3 : 1, opset, cam);
        builder.Output(cam, DataType.Float, OnnxExporter.BatchDimension, (int)height, (int)width);
        builder.Output(selection.CamClass, DataType.Int64, OnnxExporter.BatchDimension);
        string features = builder.FreshName(ModelTensorNames.Features);
        GradCamGraph.EmitFeatures(builder, featureMap, spatialAxes, opset, features);
        builder.Output(features, DataType.Float, OnnxExporter.BatchDimension, (int)channels);
        var (camGradient, camActivation) = GradCamGraph.EmitCamInputs(builder, gradient, featureMap, channelsLast ? 3 : 1);
        builder.Output(camGradient, DataType.Float, OnnxExporter.BatchDimension, (int)channels, (int)height, (int)width);
        builder.Output(camActivation, DataType.Float, OnnxExporter.BatchDimension, (int)channels, (int)height, (int)width);
        var outputs = new ModelOutputs(logitsOutput, probabilities, cam, selection.CamClass, selection.TargetClass, features, camGradient,
            camActivation);
        return (outputs, new GradCamInfo(featureMap, (int)channels, (int)height, (int)width));
    }

    /// <summary>
    /// Leaves <paramref name="keep"/> as the graph's only outputs, with only the nodes, inputs and initializers they need: the
    /// rest (a Grad-CAM graph, its target_class input and constants) is dropped.
    /// </summary>
    private static void KeepOnly(GraphProto graph, IReadOnlyList<string> keep)
    {
        var producers = GraphPruning.Producers(graph);
        var needed = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(keep);
        while (pending.TryPop(out var tensor))
        {
            if (needed.Add(tensor) && producers.TryGetValue(tensor, out var producer))
            {
                foreach (var input in producer.Input.Where(i => i.Length > 0))
                {
                    pending.Push(input);
                }
            }
        }
        foreach (var node in graph.Node.Where(n => !n.Output.Any(needed.Contains)).ToList())
        {
            graph.Node.Remove(node);
        }
        foreach (var output in graph.Output.Where(o => !keep.Contains(o.Name)).ToList())
        {
            graph.Output.Remove(output);
        }
        foreach (var input in graph.Input.Where(i => !needed.Contains(i.Name)).ToList())
        {
            graph.Input.Remove(input);
        }
        foreach (var initializer in graph.Initializer.Where(i => !needed.Contains(i.Name)).ToList())
        {
            graph.Initializer.Remove(initializer);
        }
    }

    private static InputLayout ResolveLayout(ValueInfoProto input, ImportOptions options)
    {
        if (options.Layout != InputLayout.Auto)
        {
            return options.Layout;
        }
        var dims = input.Type?.TensorType?.Shape?.Dim;
        if (dims is null || dims.Count != 4)
        {
            throw new ImportException($"Input '{input.Name}' is not a 4-D image tensor.");
        }
        bool channelsFirst = dims[1].DimValue == 3, channelsLast = dims[3].DimValue == 3;
        return channelsFirst == channelsLast
            ? throw new ImportException($"Cannot tell whether input '{input.Name}' is NCHW or NHWC; pass --layout nchw or --layout nhwc.")
            : channelsFirst ? InputLayout.Nchw : InputLayout.Nhwc;
    }

    private static void CheckDeclaredShape(ValueInfoProto input, long[] expected)
    {
        var dims = input.Type?.TensorType?.Shape?.Dim;
        if (dims is null)
        {
            return;
        }
        for (int i = 1; i < Math.Min(dims.Count, expected.Length); i++)
        {
            if (dims[i].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && dims[i].DimValue != expected[i])
            {
                var declared = dims.Select(d =>
                    d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue.ToString() : d.DimParam);
                throw new ImportException($"Input '{input.Name}' is declared [{string.Join(", ", declared)}], " +
                                          $"which does not match --input-size and --layout ([{string.Join(", ", expected)}]).");
            }
        }
    }

    /// <summary>
    /// Walks back from the logits through pooling, reshaping and dense operators to the last feature map with
    /// spatial extent: the output of the convolution or activation just before the spatial collapse.
    /// </summary>
    private static string FindFeatureMap(string logits, Dictionary<string, NodeProto> producers, Dictionary<string, long[]> shapes)
    {
        string current = logits;
        while (producers.TryGetValue(current, out var node))
        {
            bool makesFeatureMap = FeatureMapOperators.Contains(node.OpType)
                || !HeadDifferentiator.SupportedOperators.Contains(node.OpType);
            if (IsSpatial(shapes.GetValueOrDefault(current)) && makesFeatureMap)
            {
                return current;
            }
            if (!HeadDifferentiator.SupportedOperators.Contains(node.OpType))
            {
                break;
            }
            var next = node.Input.Where(i => shapes.ContainsKey(i) && producers.ContainsKey(i)).ToList();
            if (next.Count == 0)
            {
                break;
            }
            // Through a residual addition or a scaling, follow the operand with the most values.
            current = next.MaxBy(i => shapes[i].Aggregate(1L, (a, b) => a * b))!;
        }
        throw new ImportException("No convolutional feature map found before the logits; name one with --target-layer.");
    }

    private static bool IsSpatial(long[]? shape) => shape is { Length: 4 } && shape.Skip(1).Count(d => d > 1) >= 2;

    private static string ResolveTarget(string target, GraphProto graph, Dictionary<string, long[]> shapes)
    {
        string tensor = graph.Node.FirstOrDefault(n => n.Name == target)?.Output[0] ?? target;
        return IsSpatial(shapes.GetValueOrDefault(tensor))
            ? tensor
            : throw new ImportException($"--target-layer '{target}' is not a node or tensor with a 4-D feature map.");
    }

    /// <summary>
    /// ONNX convolutions and pools are channels-first; a map reached only through a transpose follows the input's layout.
    /// </summary>
    private static bool FeatureMapIsChannelsLast(string featureMap, Dictionary<string, NodeProto> producers, InputLayout layout)
    {
        string current = featureMap;
        while (producers.TryGetValue(current, out var node))
        {
            if (node.OpType is "Conv" or "ConvTranspose" or "MaxPool" or "AveragePool" or "GlobalAveragePool")
            {
                return false;
            }
            if (node.OpType == "Transpose")
            {
                var perm = node.Attribute.FirstOrDefault(a => a.Name == "perm")?.Ints.ToArray();
                return perm is [0, 2, 3, 1];
            }
            current = node.Input[0];
        }
        return layout == InputLayout.Nhwc;
    }

    private static HashSet<string> Dependents(GraphProto graph, string featureMap)
    {
        var dependent = new HashSet<string>(StringComparer.Ordinal) { featureMap };
        foreach (var node in graph.Node)
        {
            if (node.Input.Any(dependent.Contains))
            {
                dependent.UnionWith(node.Output.Where(o => o.Length > 0));
            }
        }
        return dependent;
    }

    private static bool Contributes(NodeProto node, string logits, Dictionary<string, NodeProto> producers)
    {
        var pending = new Stack<string>([logits]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryPop(out var tensor))
        {
            if (!seen.Add(tensor) || !producers.TryGetValue(tensor, out var producer))
            {
                continue;
            }
            if (producer == node)
            {
                return true;
            }
            foreach (var input in producer.Input)
            {
                pending.Push(input);
            }
        }
        return false;
    }

    /// <summary>Gives an NHWC model a new NCHW input, transposed into the original one, so every package takes NCHW.</summary>
    private static string FeedChannelsFirst(OnnxGraphBuilder builder, GraphProto graph, ValueInfoProto original)
    {
        string input = builder.FreshName(ModelTensorNames.Input);
        var transpose = new NodeProto { OpType = "Transpose", Name = builder.FreshName("nchw_to_nhwc") };
        transpose.Input.Add(input);
        transpose.Output.Add(original.Name);
        transpose.Attribute.Add(OnnxGraphBuilder.Attribute("perm", 0L, 2L, 3L, 1L));
        graph.Node.Insert(0, transpose);
        var dims = original.Type.TensorType.Shape.Dim;
        graph.Input.Remove(original);
        graph.Input.Insert(0, new ValueInfoProto
        {
            Name = input,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor
                {
                    ElemType = (int)DataType.Float,
                    Shape = new TensorShapeProto
                    {
                        Dim = { dims[0].Clone(), new TensorShapeProto.Types.Dimension { DimValue = 3 }, dims[1].Clone(), dims[2].Clone() },
                    },
                },
            },
        });
        return input;
    }
}
