using System.Diagnostics;
using System.Globalization;
using System.Text;
using BrainTumor.Imaging;
using BrainTumor.Imaging.Rendering;
using BrainTumor.Inference;

namespace BrainTumor.LoadTests;

/// <summary>One step of a request and its mean time on one core.</summary>
public sealed record StageTime(string Stage, double MeanMs);

public sealed record StagesReport(DateTimeOffset StartedAt, string Machine, IReadOnlyList<string> Flags, string Model, int Images,
    int Rounds, IReadOnlyList<StageTime> Stages)
{
    public string Markdown()
    {
        var text = new StringBuilder();
        text.AppendLine($"# Request stages, {StartedAt:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine();
        text.AppendLine($"{Machine}; CPU flags: {string.Join(", ", Flags)}. Model `{Model}`, one thread, one ONNX Runtime thread, " +
                        $"{Images} Training JPEGs {Rounds} times after a round not counted. Mean milliseconds per image, in the order " +
                        "a `/gradcam` request (overlay with the legend, as PNG) takes them; `/predict` is the first four. " +
                        "Compare only within this table.");
        text.AppendLine();
        text.AppendLine("| stage | ms |");
        text.AppendLine("| --- | --- |");
        foreach (var stage in Stages)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {stage.Stage} | {stage.MeanMs:F3} |"));
        }
        text.AppendLine();
        text.AppendLine($"Reproduce: `dotnet run --project loadtests/BrainTumor.LoadTests -c Release -- stages --model {Model}`.");
        return text.ToString();
    }
}

/// <summary>
/// The steps of one <c>/predict</c> and one <c>/gradcam</c> request timed one by one in process, with the library calls the server
/// makes: where a request's time goes, without HTTP around it.
/// </summary>
public static class Stages
{
    public static StagesReport Run(string modelName, string imageFolder, string repositoryRoot, string resultsFolder, int rounds,
        TextWriter log)
    {
        var started = DateTimeOffset.UtcNow;
        var images = RequestImages.Load(imageFolder, perClass: 16);
        using var model = ClassifierModel.Load(Path.Combine(repositoryRoot, "models", modelName),
            new InferenceOptions { IntraOpThreads = 1 });
        var method = model.DefaultCamMethod;
        var totals = new Dictionary<string, double>();
        var clock = new Stopwatch();
        T Time<T>(string stage, Func<T> step)
        {
            clock.Restart();
            var result = step();
            totals[stage] = totals.GetValueOrDefault(stage) + clock.Elapsed.TotalMilliseconds;
            return result;
        }
        for (int round = 0; round <= rounds; round++)
        {
            if (round == 1)
            {
                totals.Clear();
            }
            for (int i = 0; i < images.Count; i++)
            {
                byte[] bytes = images.Bytes(i);
                using var small = Time("decode at the model's scale", () => ImageLoader.Decode(bytes, atLeast: model.InputSize));
                Time("plausibility checks", () => SlicePlausibility.Problem(small));
                var prepared = Time("input pipeline", () => model.Prepare(small));
                Time("ONNX Runtime run (predict)", () => model.Predict(prepared.Pixels, withGradCam: false));
                var answer = Time("ONNX Runtime run (with Grad-CAM)",
                    () => model.Predict(prepared.Pixels, withGradCam: true, method: method));
                using var full = Time("full-size decode for the overlay", () => ImageLoader.Decode(bytes));
                var region = prepared.Region.Scaled((float)full.Width / small.Width, (float)full.Height / small.Height);
                var cam = answer.GradCam!;
                var map = Time("map normalised and upsampled",
                    () => GradCamRenderer.NormaliseAndUpsample(cam.Values, cam.Width, cam.Height, full.Width, full.Height, region));
                using var overlay = Time("overlay blended", () => GradCamRenderer.Overlay(full, map));
                var legend = new GradCamLegend(cam.Label, answer.Label, answer.Confidence, model.Name, model.Manifest.Version,
                    method.DisplayName());
                using var annotated = Time("legend drawn below", () => legend.DrawBelow(overlay));
                Time("PNG encoded", () => ImageEncoder.Png(annotated));
            }
        }
        var report = new StagesReport(started, LoadTestReport.DescribeMachine(), Machine.Flags, modelName, images.Count, rounds,
            totals.Select(t => new StageTime(t.Key, t.Value / (rounds * images.Count))).ToList());
        LoadTestReport.SaveFolder(Path.Combine(resultsFolder, $"stages-{modelName}-{started:yyyyMMdd-HHmmss}"), report,
            report.Markdown(), log);
        return report;
    }
}
