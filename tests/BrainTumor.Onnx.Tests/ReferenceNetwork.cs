namespace BrainTumor.Onnx.Tests;

/// <summary>
/// A plain double-precision forward pass of a <see cref="SequentialNetwork"/>, written independently of the
/// exporter, and Grad-CAM from central finite differences of its head.
/// </summary>
internal static class ReferenceNetwork
{
    public sealed record Activation(double[] Values, int Channels, int Height, int Width);

    public static Activation Run(SequentialNetwork network, IEnumerable<NetworkLayer> layers, Activation input)
    {
        var x = input;
        foreach (var layer in layers)
        {
            x = layer switch
            {
                Conv2dLayer conv => Convolve(conv, x),
                ReluLayer => x with { Values = x.Values.Select(v => Math.Max(v, 0)).ToArray() },
                Relu6Layer => x with { Values = x.Values.Select(v => Math.Clamp(v, 0, 6)).ToArray() },
                MaxPoolLayer pool => MaxPool(pool, x),
                ResidualBlockLayer block => Add(Run(network, block.Main, x), Run(network, block.Shortcut, x)),
                GlobalAveragePoolLayer => new Activation(
                    Enumerable.Range(0, x.Channels)
                        .Select(c => x.Values.Skip(c * x.Height * x.Width).Take(x.Height * x.Width).Average()).ToArray(),
                    x.Channels, 1, 1),
                FlattenLayer => new Activation(x.Values, x.Values.Length, 1, 1),
                DenseLayer dense => Dense(dense, x),
                _ => throw new NotSupportedException(layer.Name),
            };
        }
        return x;
    }

    public static double[] Logits(SequentialNetwork network, Activation input) => Run(network, network.Layers, input).Values;

    /// <summary>ReLU(sum_k alpha_k A_k) with alpha_k the spatial mean of d(logit of class)/dA_k.</summary>
    public static double[] GradCam(SequentialNetwork network, Activation input, int targetClass, double step = 1e-5)
    {
        var activation = Run(network, network.Layers.Take(network.GradCamLayerIndex + 1), input);
        var head = network.Layers.Skip(network.GradCamLayerIndex + 1).ToList();
        double Score(double[] values) => Run(network, head, activation with { Values = values }).Values[targetClass];

        int plane = activation.Height * activation.Width;
        var cam = new double[plane];
        for (int k = 0; k < activation.Channels; k++)
        {
            double gradientSum = 0;
            for (int p = 0; p < plane; p++)
            {
                var up = (double[])activation.Values.Clone();
                var down = (double[])activation.Values.Clone();
                up[k * plane + p] += step;
                down[k * plane + p] -= step;
                gradientSum += (Score(up) - Score(down)) / (2 * step);
            }
            double alpha = gradientSum / plane;
            for (int p = 0; p < plane; p++)
            {
                cam[p] += alpha * activation.Values[k * plane + p];
            }
        }
        return cam.Select(v => Math.Max(v, 0)).ToArray();
    }

    private static Activation Convolve(Conv2dLayer conv, Activation x)
    {
        int outHeight = (x.Height + 2 * conv.Padding - conv.Kernel) / conv.Stride + 1;
        int outWidth = (x.Width + 2 * conv.Padding - conv.Kernel) / conv.Stride + 1;
        var output = new double[conv.OutChannels * outHeight * outWidth];
        int inPerGroup = conv.InChannels / conv.Groups, outPerGroup = conv.OutChannels / conv.Groups;
        for (int o = 0; o < conv.OutChannels; o++)
        for (int y = 0; y < outHeight; y++)
        for (int xo = 0; xo < outWidth; xo++)
        {
            double sum = conv.Bias[o];
            for (int local = 0; local < inPerGroup; local++)
            for (int ky = 0; ky < conv.Kernel; ky++)
            for (int kx = 0; kx < conv.Kernel; kx++)
            {
                int c = o / outPerGroup * inPerGroup + local;
                int iy = y * conv.Stride + ky - conv.Padding, ix = xo * conv.Stride + kx - conv.Padding;
                if (iy >= 0 && iy < x.Height && ix >= 0 && ix < x.Width)
                {
                    sum += conv.Weight[((o * inPerGroup + local) * conv.Kernel + ky) * conv.Kernel + kx]
                        * x.Values[(c * x.Height + iy) * x.Width + ix];
                }
            }
            output[(o * outHeight + y) * outWidth + xo] = sum;
        }
        return new Activation(output, conv.OutChannels, outHeight, outWidth);
    }

    private static Activation MaxPool(MaxPoolLayer pool, Activation x)
    {
        int outHeight = (x.Height + 2 * pool.Padding - pool.Kernel) / pool.Stride + 1;
        int outWidth = (x.Width + 2 * pool.Padding - pool.Kernel) / pool.Stride + 1;
        var output = new double[x.Channels * outHeight * outWidth];
        for (int c = 0; c < x.Channels; c++)
        for (int y = 0; y < outHeight; y++)
        for (int xo = 0; xo < outWidth; xo++)
        {
            double best = double.NegativeInfinity;
            for (int ky = 0; ky < pool.Kernel; ky++)
            for (int kx = 0; kx < pool.Kernel; kx++)
            {
                int iy = y * pool.Stride + ky - pool.Padding, ix = xo * pool.Stride + kx - pool.Padding;
                if (iy >= 0 && iy < x.Height && ix >= 0 && ix < x.Width)
                {
                    best = Math.Max(best, x.Values[(c * x.Height + iy) * x.Width + ix]);
                }
            }
            output[(c * outHeight + y) * outWidth + xo] = best;
        }
        return new Activation(output, x.Channels, outHeight, outWidth);
    }

    private static Activation Add(Activation a, Activation b) => a with { Values = a.Values.Zip(b.Values, (p, q) => p + q).ToArray() };

    private static Activation Dense(DenseLayer dense, Activation x)
    {
        var output = new double[dense.OutFeatures];
        for (int o = 0; o < dense.OutFeatures; o++)
        {
            double sum = dense.Bias[o];
            for (int i = 0; i < dense.InFeatures; i++)
            {
                sum += dense.Weight[o * dense.InFeatures + i] * x.Values[i];
            }
            output[o] = sum;
        }
        return new Activation(output, dense.OutFeatures, 1, 1);
    }
}
