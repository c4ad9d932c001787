using BrainTumor.Models;
using Microsoft.ML.OnnxRuntime;

namespace BrainTumor.Inference;

/// <summary>
/// Checks that a manifest tells the truth about its ONNX graph, so that a bad package fails at start-up, not per request.
/// </summary>
internal static class ModelValidation
{
    /// <param name="explainer">The second part of a graph cut for maps, whose outputs count as the graph's too.</param>
    public static void Check(ModelManifest manifest, InferenceSession predictor, InferenceSession? explainer, string manifestPath)
    {
        InferenceSession[] sessions = explainer is null ? [predictor] : [predictor, explainer];
        var outputs = sessions.SelectMany(s => s.OutputMetadata).DistinctBy(o => o.Key).ToDictionary();
        void Fail(string problem) => throw new ModelPackageException($"{manifestPath}: {problem}");

        if (manifest.Labels.Count < 2 || manifest.Labels.Distinct().Count() != manifest.Labels.Count)
        {
            Fail("labels must be at least two distinct names.");
        }
        if (manifest.Input.Normalization.Problem is string problem)
        {
            Fail($"input.normalization: {problem}");
        }
        if (manifest.Input.Layout != "NCHW" || manifest.Input.Channels != 3)
        {
            Fail($"only 3-channel NCHW input is served, not {manifest.Input.Channels}-channel {manifest.Input.Layout}.");
        }

        ExpectShape(predictor.InputMetadata, manifest.Input.Name, "input", [-1, 3, manifest.Input.Height, manifest.Input.Width], Fail);
        ExpectShape(outputs, manifest.Outputs.Probabilities, "output", [-1, manifest.Labels.Count], Fail);
        ExpectShape(outputs, manifest.Outputs.Logits, "output", [-1, manifest.Labels.Count], Fail);
        if (manifest.Outputs.Features is string features)
        {
            ExpectShape(outputs, features, "output", [-1, manifest.GradCam.Channels], Fail);
        }
        else if (manifest.OutOfDistribution is not null)
        {
            Fail("outOfDistribution needs outputs.features, the features its score reads.");
        }
        foreach (string? camInput in new[] { manifest.Outputs.CamGradient, manifest.Outputs.CamActivation })
        {
            if (camInput is not null)
            {
                var layer = manifest.GradCam;
                ExpectShape(outputs, camInput, "output", [-1, layer.Channels, layer.Height, layer.Width], Fail);
            }
        }
        if (manifest.Outputs.Cam is string cam)
        {
            ExpectShape(outputs, cam, "output", [-1, manifest.GradCam.Height, manifest.GradCam.Width], Fail);
            if (manifest.Outputs.CamClass is not string camClass || !outputs.ContainsKey(camClass))
            {
                Fail($"the ONNX graph has no '{manifest.Outputs.CamClass}' output, which Grad-CAM needs.");
            }
            // An input with a default value is reported as an overridable initializer, not as an input.
            if (manifest.Outputs.TargetClass is not string target
                || !sessions.Any(s => s.InputMetadata.ContainsKey(target) || s.OverridableInitializerMetadata.ContainsKey(target)))
            {
                Fail($"the ONNX graph has no '{manifest.Outputs.TargetClass}' input, which Grad-CAM needs.");
            }
        }
    }

    /// <summary>
    /// -1 in <paramref name="expected"/> stands for the batch dimension: dynamic, or fixed at 1 (the server runs one image at a time).
    /// </summary>
    private static void ExpectShape(IReadOnlyDictionary<string, NodeMetadata> metadata, string name, string kind, int[] expected,
        Action<string> fail)
    {
        if (!metadata.TryGetValue(name, out var node))
        {
            fail($"the ONNX graph has no {kind} '{name}' (it has {string.Join(", ", metadata.Keys)}).");
            return;
        }
        bool matches = node.Dimensions.Length == expected.Length
            && node.Dimensions.Zip(expected).All(pair => pair.Second == -1 ? pair.First is -1 or 1 : pair.First == pair.Second);
        if (!matches)
        {
            fail($"{kind} '{name}' has shape [{string.Join(", ", node.Dimensions)}] in the ONNX graph, " +
                 $"but the manifest implies [{string.Join(", ", expected)}].");
        }
    }
}
