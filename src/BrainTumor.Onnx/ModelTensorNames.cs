namespace BrainTumor.Onnx;

/// <summary>The names of the exported models' inputs and outputs; the server and the manifests use them.</summary>
public static class ModelTensorNames
{
    public const string Input = "input";
    public const string Logits = "logits";
    public const string Probabilities = "probabilities";
    public const string TargetClass = "target_class";
    public const string Cam = "cam";
    public const string CamClass = "cam_class";
    public const string Features = "features";
    public const string CamGradient = "cam_gradient";
    public const string CamActivation = "cam_activation";

    public static string[] All => [Input, Logits, Probabilities, TargetClass, Cam, CamClass, Features, CamGradient, CamActivation];
}
