using System.CommandLine;
using BrainTumor.Import;

namespace BrainTumor.Cli;

/// <summary><c>braintumor import</c>: an ONNX classifier from another tool as a servable package (<see cref="ModelImporter"/>).</summary>
public static class ImportCommand
{
    public static Command Definition()
    {
        var onnx = new Option<string>("--onnx") { Description = "The ONNX classifier to import.", Required = true };
        var labels = new Option<string>("--labels") { Description = "Class labels in output order, comma-separated.", Required = true };
        var inputSize = new Option<string>("--input-size") { Description = "Input height,width in pixels, e.g. 224,224.", Required = true };
        var normalisation = new Option<string>("--normalisation")
        {
            Description = "rescale (x/255), imagenet, raw, or scale=S;mean=a,b,c;std=a,b,c.", DefaultValueFactory = _ => "rescale",
        };
        var layout = new Option<InputLayout>("--layout")
        {
            Description = "Input layout: auto, nchw or nhwc.", DefaultValueFactory = _ => InputLayout.Auto,
        };
        var targetLayer = new Option<string?>("--target-layer")
        {
            Description = "Node or tensor whose feature map Grad-CAM explains (default: the last one before the spatial collapse).",
        };
        var output = new Option<string>("--out") { Description = "Model package folder to write, e.g. models/my-model.", Required = true };
        var import = new Command("import",
            "Import an ONNX image classifier exported by another tool, adding the Grad-CAM graph, as a servable model package.")
        {
            onnx, labels, inputSize, normalisation, layout, targetLayer, output,
        };
        import.SetAction(parse => Commands.Run(() =>
        {
            var size = parse.GetValue(inputSize)!.Split(',', StringSplitOptions.TrimEntries);
            if (size.Length != 2 || !int.TryParse(size[0], out int height) || !int.TryParse(size[1], out int width) || height <= 0
                || width <= 0)
            {
                throw new CliException($"--input-size must be height,width, not '{parse.GetValue(inputSize)}'.");
            }
            string package = parse.GetValue(output)!;
            var manifest = ModelImporter.Import(new ImportOptions(parse.GetValue(onnx)!,
                parse.GetValue(labels)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                height, width, ImportOptions.ParseNormalization(parse.GetValue(normalisation)!), parse.GetValue(layout),
                parse.GetValue(targetLayer), package));
            Console.WriteLine($"imported '{manifest.Name}': {manifest.Labels.Count} classes, Grad-CAM at '{manifest.GradCam.Layer}' " +
                              $"({manifest.GradCam.Channels}x{manifest.GradCam.Height}x{manifest.GradCam.Width}); package in {package}");
            using var check = ModelLoader.Load(package);
            check.WarmUp(1);
            return 0;
        }));
        return import;
    }
}
