using System.CommandLine;
using BrainTumor.Import;
using BrainTumor.Models;
using BrainTumor.Onnx;
using BrainTumor.Onnx.Proto;

namespace BrainTumor.Cli;

/// <summary>
/// Adds to a package written before them the outputs newer features read: <c>features</c> (the out-of-distribution guard) and
/// <c>cam_gradient</c> and <c>cam_activation</c> (Grad-CAM methods other than Grad-CAM). The weights and every existing output
/// stay as they are.
/// </summary>
public static class PackageUpgrade
{
    private static readonly Option<string?> TargetLayer = new("--target-layer")
    {
        Description = "Move the Grad-CAM to this node or tensor (a finer stage, say) instead; the classification stays, measured maps " +
            "and the out-of-distribution guard are dropped.",
    };

    private static readonly Option<string?> Output = new("--out")
    {
        Description = "With --target-layer: the package folder to write (default: the package itself).",
    };

    public static Command Definition()
    {
        var upgrade = new Command("upgrade",
            "Add to a package written before them the outputs newer features read (features for the out-of-distribution guard; the " +
            "Grad-CAM gradient and activation for other map methods).")
        {
            Commands.Model, TargetLayer, Output,
        };
        upgrade.SetAction(parse => Commands.Run(() =>
        {
            string package = parse.GetValue(Commands.Model)!;
            if (parse.GetValue(TargetLayer) is not string layer)
            {
                return parse.GetValue(Output) is null
                    ? Run(package, Console.Out)
                    : throw new CliException("--out needs --target-layer.");
            }
            return Retarget(package, layer, parse.GetValue(Output) ?? ModelLoader.PackageFolder(package), Console.Out);
        }));
        return upgrade;
    }

    public static ModelManifest Run(string model, TextWriter log)
    {
        string directory = ModelLoader.PackageFolder(model);
        string manifestPath = Path.Combine(directory, ModelManifest.FileName);
        var manifest = ModelManifest.Read(manifestPath);
        var upgraded = Upgrade(directory, manifest, log);
        if (upgraded != manifest)
        {
            upgraded.Write(manifestPath);
        }
        else
        {
            log.WriteLine($"{manifest.Name}: nothing to add");
        }
        return upgraded;
    }

    /// <summary>
    /// Moves a package's Grad-CAM to <paramref name="targetLayer"/> (<see cref="ModelImporter.Retarget"/>) and writes the package to
    /// <paramref name="outputDirectory"/>, named after that folder as <c>quantize</c> and <c>import</c> name theirs (the package's own
    /// folder rewrites it). It classifies as before; what was measured on the old layer's maps and features (sanity checks, pointing
    /// game, out-of-distribution guard) is dropped, to be measured again.
    /// </summary>
    public static ModelManifest Retarget(string model, string targetLayer, string outputDirectory, TextWriter log)
    {
        string directory = ModelLoader.PackageFolder(model);
        var manifest = ModelManifest.Read(Path.Combine(directory, ModelManifest.FileName));
        if (manifest.Members is not null || manifest.Quantization is not null)
        {
            throw new CliException(
                $"'{manifest.Name}' is an ensemble or an 8-bit copy; move the Grad-CAM of its float source and build it again.");
        }
        Directory.CreateDirectory(outputDirectory);
        var (outputs, gradCam) = ModelImporter.Retarget(Path.Combine(directory, ModelManifest.OnnxFileName), manifest, targetLayer,
            Path.Combine(outputDirectory, ModelManifest.OnnxFileName));
        if (manifest.OutOfDistribution is { } guard)
        {
            // Its statistics describe the old layer's features; a stale file left in the folder would only mislead.
            File.Delete(Path.Combine(outputDirectory, Path.GetFileName(guard.StatisticsFile)));
            log.WriteLine($"{manifest.Name}: the out-of-distribution guard was fitted on '{manifest.GradCam.Layer}'; run fit-ood again");
        }
        var retargeted = manifest with
        {
            Name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputDirectory))),
            Description = $"{manifest.Description} Grad-CAM moved to '{gradCam.Layer}' " +
                          $"({gradCam.Channels} channels, {gradCam.Height}x{gradCam.Width}).",
            Outputs = outputs,
            GradCam = gradCam,
            GradCamChecks = null,
            PointingGame = null,
            OutOfDistribution = null,
        };
        retargeted.Write(Path.Combine(outputDirectory, ModelManifest.FileName));
        string Describe(GradCamInfo layer) => $"'{layer.Layer}' ({layer.Channels}x{layer.Height}x{layer.Width})";
        log.WriteLine($"{manifest.Name}: Grad-CAM at {Describe(gradCam)}, was {Describe(manifest.GradCam)}; package in {outputDirectory}");
        return retargeted;
    }

    /// <summary>Rewrites <c>model.onnx</c> with the missing outputs and returns the manifest naming them (not yet written).</summary>
    public static ModelManifest Upgrade(string directory, ModelManifest manifest, TextWriter log)
    {
        bool needsFeatures = manifest.Outputs.Features is null;
        bool needsCamInputs = manifest.Outputs.Cam is not null && manifest.Outputs.CamGradient is null;
        if (!needsFeatures && !needsCamInputs)
        {
            return manifest;
        }
        string onnxPath = Path.Combine(directory, ModelManifest.OnnxFileName);
        var onnx = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath));
        var outputs = manifest.Outputs;
        var cam = manifest.GradCam;
        try
        {
            if (needsFeatures)
            {
                outputs = outputs with { Features = OnnxExporter.AddFeaturesOutput(onnx, cam.Layer, cam.Channels) };
                log.WriteLine($"{manifest.Name}: added the '{outputs.Features}' output (the spatial mean of '{cam.Layer}')");
            }
            if (needsCamInputs)
            {
                var (gradient, activation) = OnnxExporter.AddCamInputsOutputs(onnx, outputs.Cam!, cam.Channels, cam.Height, cam.Width);
                outputs = outputs with { CamGradient = gradient, CamActivation = activation };
                log.WriteLine($"{manifest.Name}: added the '{gradient}' and '{activation}' outputs (the gradient and activation " +
                              "Grad-CAM combines)");
            }
        }
        catch (InvalidOperationException ex)
        {
            throw new CliException(ex.Message);
        }
        OnnxExporter.Save(onnx, onnxPath);
        return manifest with { Outputs = outputs };
    }
}
