using BrainTumor.Onnx.Proto;

namespace BrainTumor.Onnx.Tests;

public class GraphPruningTests
{
    private static readonly string[] Prediction = [ModelTensorNames.Logits, ModelTensorNames.Probabilities, ModelTensorNames.Features];

    [Fact]
    public void TheFirstPartComputesThePredictionAndNoneOfTheGradCamGraph()
    {
        var model = OnnxExporter.Export(OnnxExporterTests.Network(8, padding: 1));

        var split = GraphPruning.Split(model, Prediction);

        var firstOutputs = split.First.Graph.Output.Select(o => o.Name).ToList();
        Assert.Equal(Prediction, firstOutputs.Take(3));
        Assert.Equal(split.Boundary.Except(Prediction), firstOutputs.Skip(3));
        Assert.DoesNotContain(split.First.Graph.Node, n => n.OpType is "OneHot" or "MaxUnpool" or "MatMul");
        Assert.DoesNotContain(split.First.Graph.Input, i => i.Name == ModelTensorNames.TargetClass);
        Assert.Equal([ModelTensorNames.Cam, ModelTensorNames.CamClass, ModelTensorNames.CamGradient, ModelTensorNames.CamActivation],
            split.Rest.Graph.Output.Select(o => o.Name));
        Assert.Contains(split.Rest.Graph.Input, i => i.Name == ModelTensorNames.TargetClass);
        Assert.All(split.Boundary, name => Assert.Contains(split.Rest.Graph.Input, i => i.Name == name));
    }

    [Fact]
    public void AMaxPoolWhoseIndicesOnlyTheGradientReadsPoolsAgainInTheRestAndWithoutThemInTheFirstPart()
    {
        var model = OnnxExporter.Export(OnnxExporterTests.Network(8, padding: 1));

        var split = GraphPruning.Split(model, Prediction);

        Assert.Single(Assert.Single(split.First.Graph.Node, n => n.OpType == "MaxPool").Output);
        var again = Assert.Single(split.Rest.Graph.Node, n => n.OpType == "MaxPool");
        Assert.Equal(2, again.Output.Count);
        Assert.DoesNotContain(again.Output[1], split.Boundary);
    }

    [Fact]
    public void AMaxPoolWhoseIndicesNothingReadsPoolsWithoutThemInTheFirstPartAndNotAgainInTheRest()
    {
        var graph = new GraphProto
        {
            Input = { new ValueInfoProto { Name = "image" } },
            Node =
            {
                new NodeProto { OpType = "MaxPool", Input = { "image" }, Output = { "pooled", "indices" } },
                new NodeProto { OpType = "ReduceMean", Input = { "pooled" }, Output = { "logits" } },
                new NodeProto { OpType = "Relu", Input = { "pooled" }, Output = { "cam" } },
            },
            Output = { new ValueInfoProto { Name = "logits" }, new ValueInfoProto { Name = "cam" } },
        };

        var split = GraphPruning.Split(new ModelProto { Graph = graph }, ["logits"]);

        Assert.Equal(["pooled"], Assert.Single(split.First.Graph.Node, n => n.OpType == "MaxPool").Output);
        Assert.DoesNotContain(split.Rest.Graph.Node, n => n.OpType == "MaxPool");
        Assert.Equal(["pooled"], split.Boundary);
    }

    [Fact]
    public void AGraphWithASubgraphIsNotCut()
    {
        var model = OnnxExporter.Export(OnnxExporterTests.Network(8, padding: 1));
        var branch = new GraphProto { Name = "branch" };
        model.Graph.Node.Add(new NodeProto
        {
            OpType = "If",
            Input = { "condition" },
            Output = { "chosen" },
            Attribute = { new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = branch } },
        });

        Assert.Throws<NotSupportedException>(() => GraphPruning.Split(model, Prediction));
    }
}
