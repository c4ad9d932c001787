using BrainTumor.Onnx.Proto;
using static BrainTumor.Onnx.Tests.OnnxExporterTests;

namespace BrainTumor.Onnx.Tests;

public sealed class EnsembleGraphTests
{
    private const int Batch = 3, Size = 8, Classes = 3, Channels = 4, CamSide = 4;

    private static readonly string[] Outputs =
    [
        ModelTensorNames.Probabilities, ModelTensorNames.Logits, ModelTensorNames.Cam, ModelTensorNames.CamClass, ModelTensorNames.Features,
        ModelTensorNames.CamGradient, ModelTensorNames.CamActivation,
    ];

    // Two networks of one shape with different weights, one calibrated with a temperature as packages are.
    private static readonly ModelProto[] Members =
    [
        OnnxExporter.Export(DepthwiseNetwork(seed: 3)),
        OnnxExporter.Export(DepthwiseNetwork(seed: 5), temperature: 0.7),
    ];

    private static ModelProto Joined() => EnsembleGraph.Join(
        Members.Select(m => new EnsembleGraph.Member(m, ModelTensorNames.Input, ModelTensorNames.Probabilities, ModelTensorNames.Logits,
            ModelTensorNames.TargetClass, ModelTensorNames.CamGradient, ModelTensorNames.CamActivation,
            ModelTensorNames.Features)).ToList(),
        [Channels, Channels], CamSide, CamSide, inputChannels: 2, inputHeight: Size, inputWidth: Size, Classes);

    [Fact]
    public void TheEnsembleAnswersWithTheMeanOfItsMembersProbabilities()
    {
        float[] inputs = Inputs(Batch, Size);
        var ensemble = Run(Joined(), inputs, Batch, Size, outputs: Outputs);
        var members = Members.Select(m => Run(m, inputs, Batch, Size, outputs: ModelTensorNames.Probabilities)).ToList();

        for (int i = 0; i < Batch * Classes; i++)
        {
            float mean = members.Average(m => m[ModelTensorNames.Probabilities][i]);
            Assert.Equal(mean, ensemble[ModelTensorNames.Probabilities][i], 1e-6);
            Assert.Equal(Math.Log(mean), ensemble[ModelTensorNames.Logits][i], 1e-5);
        }
        for (int n = 0; n < Batch; n++)
        {
            var row = ensemble[ModelTensorNames.Probabilities].Skip(n * Classes).Take(Classes).ToList();
            Assert.Equal(row.IndexOf(row.Max()), ensemble[ModelTensorNames.CamClass][n]);
        }
    }

    [Fact]
    public void EveryMemberExplainsTheEnsemblesClassAndTheMapIsGradCamOfTheMeanLogit()
    {
        float[] inputs = Inputs(Batch, Size);
        var joined = Joined();
        var seen = new HashSet<float>();
        foreach (long[]? targets in new long[]?[] { null, [2, 0, 1] })
        {
            var ensemble = Run(joined, inputs, Batch, Size, targets, Outputs);
            long[] explained = ensemble[ModelTensorNames.CamClass].Select(c => (long)c).ToArray();
            if (targets is not null)
            {
                Assert.Equal(targets, explained);
            }
            var members = Members.Select(m => Run(m, inputs, Batch, Size, explained,
                ModelTensorNames.CamGradient, ModelTensorNames.CamActivation, ModelTensorNames.Features)).ToList();
            int cells = CamSide * CamSide;
            for (int n = 0; n < Batch; n++)
            {
                for (int cell = 0; cell < cells; cell++)
                {
                    // Grad-CAM of 1/2 (logit_1 + logit_2) over both members' channels: ReLU of the mean of the members' unrectified maps.
                    double unrectified = members.Sum(m => Enumerable.Range(0, Channels).Sum(k =>
                    {
                        int offset = (n * Channels + k) * cells;
                        double weight = m[ModelTensorNames.CamGradient].Skip(offset).Take(cells).Average(g => (double)g);
                        return weight * m[ModelTensorNames.CamActivation][offset + cell];
                    })) / Members.Length;
                    Assert.Equal(Math.Max(0, unrectified), ensemble[ModelTensorNames.Cam][n * cells + cell], 1e-5);
                    seen.Add(ensemble[ModelTensorNames.Cam][n * cells + cell]);
                }
                for (int member = 0; member < Members.Length; member++)
                {
                    var features = members[member][ModelTensorNames.Features].Skip(n * Channels).Take(Channels);
                    Assert.Equal(features, ensemble[ModelTensorNames.Features].Skip(n * 2 * Channels + member * Channels).Take(Channels));
                    var gradient = members[member][ModelTensorNames.CamGradient].Skip(n * Channels * cells).Take(Channels * cells)
                        .Select(g => g / 2);
                    Assert.Equal(gradient,
                        ensemble[ModelTensorNames.CamGradient].Skip((n * 2 + member) * Channels * cells).Take(Channels * cells));
                }
            }
        }
        Assert.True(seen.Count > 10, "the maps should not be flat");
    }

    [Fact]
    public void OneMemberIsNotAnEnsemble() =>
        Assert.Throws<ArgumentException>(() => EnsembleGraph.Join(
            [new EnsembleGraph.Member(Members[0], ModelTensorNames.Input, ModelTensorNames.Probabilities, ModelTensorNames.Logits,
                ModelTensorNames.TargetClass, ModelTensorNames.CamGradient, ModelTensorNames.CamActivation, ModelTensorNames.Features)],
            [Channels], CamSide, CamSide, 2, Size, Size, Classes));
}
