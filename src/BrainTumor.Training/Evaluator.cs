using BrainTumor.Evaluation;
using BrainTumor.Imaging;
using BrainTumor.Models;
using BrainTumor.Training.Architectures;
using BrainTumor.Data;
using static TorchSharp.torch;

namespace BrainTumor.Training;

/// <summary>Class probabilities for a set of images, with the loss and metrics they give.</summary>
public sealed record EvaluationResult(float[][] Probabilities, int[] Truth, double Loss, ClassificationMetrics Metrics)
{
    public static EvaluationResult FromProbabilities(float[][] probabilities, int[] truth, IReadOnlyList<string> labels)
    {
        int[] predicted = probabilities.Select(ClassProbabilities.ArgMax).ToArray();
        return new EvaluationResult(probabilities, truth, ProbabilisticMetrics.MeanLogLoss(probabilities, truth),
            ClassificationMetrics.Compute(truth, predicted, labels));
    }
}

public static class Evaluator
{
    public static EvaluationResult Evaluate(ClassifierNetwork network, ImageFolderDataset dataset, IReadOnlyList<int> indices,
        Normalization normalization, int batchSize = 32)
    {
        network.eval();
        var probabilities = new List<float[]>(indices.Count);
        using (no_grad())
        {
            foreach (var chunk in indices.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                // The plain layout, as ONNX Runtime computes it: with channels-last input LibTorch's CPU kernels drifted from it
                // (MobileNetV2 at 96x96: 5.6e-4 in a probability, over the export's tolerance, on an AVX-512 EPYC, 2026-12-05).
                var output = nn.functional.softmax(network.call(Batches.Images(dataset.Samples, chunk, normalization)), 1);
                int classes = (int)output.shape[1];
                float[] flat = output.data<float>().ToArray();
                probabilities.AddRange(Enumerable.Range(0, chunk.Length).Select(i => flat.AsSpan(i * classes, classes).ToArray()));
            }
        }
        int[] truth = indices.Select(i => dataset.Samples[i].Label).ToArray();
        return EvaluationResult.FromProbabilities(probabilities.ToArray(), truth, dataset.Labels);
    }
}
