namespace BrainTumor.Inference;

/// <summary>How a class-activation map is made from the Grad-CAM layer's activation A and the gradient G of the explained logit.</summary>
public enum CamMethod
{
    /// <summary>Grad-CAM (Selvaraju et al. 2017): ReLU(Σ_c mean(G_c) A_c), computed inside the ONNX graph.</summary>
    GradCam,

    /// <summary>
    /// HiResCAM (Draelos and Carin 2020): ReLU(Σ_c G_c ⊙ A_c), element-wise; faithful to the model when the head is a global average
    /// pool.
    /// </summary>
    HiResCam,

    /// <summary>
    /// Grad-CAM++ (Chattopadhay et al. 2018) with the exponential trick, from first-order gradients only (as pytorch-grad-cam computes
    /// it).
    /// </summary>
    GradCamPlusPlus,
}

public static class CamMethods
{
    /// <summary>The names the API and CLI take, in <see cref="CamMethod"/> order.</summary>
    public static readonly string[] Names = ["gradcam", "hirescam", "gradcampp"];

    /// <summary>The names people read, in <see cref="CamMethod"/> order.</summary>
    public static readonly string[] DisplayNames = ["Grad-CAM", "HiResCAM", "Grad-CAM++"];

    public static CamMethod? Parse(string name) => NamedChoices.Parse<CamMethod>(Names, name);

    /// <summary>The name the API and CLI take: <c>gradcam</c>, <c>hirescam</c>, <c>gradcampp</c>.</summary>
    public static string Name(this CamMethod method) => Names[(int)method];

    /// <summary>The name people read: Grad-CAM, HiResCAM, Grad-CAM++.</summary>
    public static string DisplayName(this CamMethod method) => DisplayNames[(int)method];

    /// <summary>
    /// The map, [H, W], from one image's gradient and activation, both [C, H, W] (channels first). Grad-CAM itself is not
    /// computed here: the ONNX graph's <c>cam</c> output is its one definition.
    /// </summary>
    public static float[] Compute(CamMethod method, ReadOnlySpan<float> gradient, ReadOnlySpan<float> activation, int channels, int height,
        int width)
    {
        int plane = height * width;
        if (gradient.Length != channels * plane || activation.Length != channels * plane)
        {
            throw new ArgumentException($"Gradient and activation must both hold {channels}x{height}x{width} values.");
        }
        var map = new float[plane];
        switch (method)
        {
            case CamMethod.HiResCam:
                for (int c = 0; c < channels; c++)
                {
                    for (int p = 0; p < plane; p++)
                    {
                        map[p] += gradient[c * plane + p] * activation[c * plane + p];
                    }
                }
                break;
            case CamMethod.GradCamPlusPlus:
                for (int c = 0; c < channels; c++)
                {
                    var g = gradient.Slice(c * plane, plane);
                    var a = activation.Slice(c * plane, plane);
                    double activationSum = 0;
                    foreach (float value in a) activationSum += value;
                    double weight = 0;
                    for (int p = 0; p < plane; p++)
                    {
                        double g2 = g[p] * (double)g[p], g3 = g2 * g[p];
                        double denominator = 2 * g2 + activationSum * g3;
                        double alpha = g[p] != 0 && denominator != 0 ? g2 / denominator : 0;
                        weight += alpha * Math.Max(g[p], 0);
                    }
                    for (int p = 0; p < plane; p++)
                    {
                        map[p] += (float)(weight * a[p]);
                    }
                }
                break;
            default:
                throw new ArgumentException("Grad-CAM comes from the model's cam output.", nameof(method));
        }
        for (int p = 0; p < plane; p++)
        {
            map[p] = Math.Max(map[p], 0);
        }
        return map;
    }
}
