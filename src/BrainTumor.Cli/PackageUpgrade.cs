using System.CommandLine;
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
    public static Command Definition()
    {
        var upgrade = new Command("upgrade",
            "Add to a package written before them the outputs newer features read (features for the out-of-distribution guard; the " +
            "Grad-CAM gradient and activation for other map methods).")
        {
            Commands.Model,
        };
        upgrade.SetAction(parse => Commands.Run(() => Run(parse.GetValue(Commands.Model)!, Console.Out)));
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
