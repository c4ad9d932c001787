namespace BrainTumor.Onnx;

/// <summary>One layer of a feed-forward image classifier, with its trained weights (PyTorch layouts).</summary>
public abstract record NetworkLayer(string Name);

/// <summary>
/// 2-D convolution. <see cref="Weight"/> is [out, in / groups, kernel, kernel]; square kernel, symmetric
/// padding; <see cref="Groups"/> equal to the channel count makes it depthwise.
/// </summary>
public sealed record Conv2dLayer(string Name, int InChannels, int OutChannels, int Kernel, int Stride, int Padding, float[] Weight,
    float[] Bias, int Groups = 1) : NetworkLayer(Name);

/// <summary>Mean over each channel's whole map: [N, C, H, W] to [N, C, 1, 1].</summary>
public sealed record GlobalAveragePoolLayer(string Name) : NetworkLayer(Name);

public sealed record ReluLayer(string Name) : NetworkLayer(Name);

/// <summary>min(max(x, 0), 6), MobileNetV2's activation.</summary>
public sealed record Relu6Layer(string Name) : NetworkLayer(Name);

/// <summary>x * sigmoid(x) (SiLU, or swish), EfficientNet's activation.</summary>
public sealed record SiluLayer(string Name) : NetworkLayer(Name);

public sealed record SigmoidLayer(string Name) : NetworkLayer(Name);

/// <summary>Average pooling with a square window, no padding (DenseNet's transitions).</summary>
public sealed record AveragePoolLayer(string Name, int Kernel, int Stride) : NetworkLayer(Name);

/// <summary>
/// <c>x * Gate(x)</c>, where the gate gives one factor per channel ([C, 1, 1]): squeeze-and-excitation. Allowed before the
/// Grad-CAM layer only.
/// </summary>
public sealed record ChannelGateLayer(string Name, IReadOnlyList<NetworkLayer> Gate) : NetworkLayer(Name);

/// <summary>
/// <c>Concat(x, Main(x))</c> along the channels: one layer of a DenseNet block. Allowed before the Grad-CAM layer only.
/// </summary>
public sealed record ConcatBlockLayer(string Name, IReadOnlyList<NetworkLayer> Main) : NetworkLayer(Name);

/// <summary>Max pooling with a square window and symmetric padding; partial windows at the edge are dropped.</summary>
public sealed record MaxPoolLayer(string Name, int Kernel, int Stride, int Padding = 0) : NetworkLayer(Name);

/// <summary>
/// A residual block: <c>Main(x) + Shortcut(x)</c>, where an empty shortcut is the identity. Allowed before the
/// Grad-CAM layer only (its gradient is not part of the head).
/// </summary>
public sealed record ResidualBlockLayer(string Name, IReadOnlyList<NetworkLayer> Main, IReadOnlyList<NetworkLayer> Shortcut)
    : NetworkLayer(Name);

/// <summary>Flattens [N, C, H, W] to [N, C*H*W] in C-major order, as PyTorch does.</summary>
public sealed record FlattenLayer(string Name) : NetworkLayer(Name);

/// <summary>Fully connected layer. <see cref="Weight"/> is [out, in] (PyTorch's Linear layout).</summary>
public sealed record DenseLayer(string Name, int InFeatures, int OutFeatures, float[] Weight, float[] Bias) : NetworkLayer(Name);

/// <summary>
/// A classifier as a chain of layers from an NCHW image to class logits. Grad-CAM explains the output of
/// the layer at <see cref="GradCamLayerIndex"/>; the layers after it form the head, whose gradient the
/// exporter writes out analytically.
/// </summary>
public sealed record SequentialNetwork(
    int InputChannels, int InputHeight, int InputWidth, IReadOnlyList<NetworkLayer> Layers, int GradCamLayerIndex)
{
    public string GradCamLayerName => Layers[GradCamLayerIndex].Name;

    /// <summary>The per-sample shape after each layer, checked for consistency on the way.</summary>
    public IReadOnlyList<FeatureShape> Shapes()
    {
        var shapes = new List<FeatureShape>(Layers.Count);
        var shape = new FeatureShape(InputChannels, InputHeight, InputWidth);
        foreach (var layer in Layers)
        {
            shape = shape.After(layer);
            shapes.Add(shape);
        }
        return shapes;
    }

    /// <summary>
    /// Multiply-adds of one forward pass of one image in the convolutions and dense layers; pooling,
    /// activations and residual additions are left out (a rounding error beside them).
    /// </summary>
    public long MultiplyAdds() => MultiplyAdds(Layers, new FeatureShape(InputChannels, InputHeight, InputWidth));

    private static long MultiplyAdds(IEnumerable<NetworkLayer> layers, FeatureShape shape)
    {
        long total = 0;
        foreach (var layer in layers)
        {
            var next = shape.After(layer);
            total += layer switch
            {
                Conv2dLayer conv =>
                    (long)next.Height * next.Width * conv.OutChannels * (conv.InChannels / conv.Groups) * conv.Kernel * conv.Kernel,
                DenseLayer dense => (long)dense.InFeatures * dense.OutFeatures,
                ResidualBlockLayer block => MultiplyAdds(block.Main, shape) + MultiplyAdds(block.Shortcut, shape),
                ChannelGateLayer gate => MultiplyAdds(gate.Gate, shape),
                ConcatBlockLayer concat => MultiplyAdds(concat.Main, shape),
                _ => 0,
            };
            shape = next;
        }
        return total;
    }
}

/// <summary>The shape of one sample between layers: a [C, H, W] map or, once flattened, a vector of <see cref="Features"/>.</summary>
public sealed record FeatureShape(int Channels, int Height, int Width, int? Features = null)
{
    public FeatureShape After(NetworkLayer layer) => layer switch
    {
        Conv2dLayer conv when conv.InChannels != Channels || Features is not null =>
            throw new InvalidOperationException($"Layer '{conv.Name}' expects {conv.InChannels} channels, gets {Describe()}."),
        Conv2dLayer conv => Map(conv.OutChannels, conv.Kernel, conv.Stride, conv.Padding, conv),
        MaxPoolLayer pool => Map(Channels, pool.Kernel, pool.Stride, pool.Padding, pool),
        AveragePoolLayer pool => Map(Channels, pool.Kernel, pool.Stride, 0, pool),
        ResidualBlockLayer block => Residual(block),
        ChannelGateLayer gate => Gated(gate),
        ConcatBlockLayer concat => Concatenated(concat),
        GlobalAveragePoolLayer when Features is null => new FeatureShape(Channels, 1, 1),
        FlattenLayer => this with { Features = Channels * Height * Width },
        DenseLayer dense when dense.InFeatures != Features =>
            throw new InvalidOperationException($"Layer '{dense.Name}' expects {dense.InFeatures} features, gets {Describe()}."),
        DenseLayer dense => this with { Features = dense.OutFeatures },
        _ => this,
    };

    private FeatureShape Residual(ResidualBlockLayer block)
    {
        var main = After(block.Main);
        var shortcut = After(block.Shortcut);
        return main == shortcut
            ? main
            : throw new InvalidOperationException(
                $"Block '{block.Name}': the main path gives {main.Describe()} but the shortcut {shortcut.Describe()}.");
    }

    /// <summary>The shape after the layers one after another.</summary>
    public FeatureShape After(IEnumerable<NetworkLayer> layers) => layers.Aggregate(this, (shape, layer) => shape.After(layer));

    private FeatureShape Gated(ChannelGateLayer layer)
    {
        var gate = After(layer.Gate);
        return gate == new FeatureShape(Channels, 1, 1) && Features is null
            ? this
            : throw new InvalidOperationException(
                $"Gate '{layer.Name}' gives {gate.Describe()} for {Describe()}; it must give one factor per channel.");
    }

    private FeatureShape Concatenated(ConcatBlockLayer layer)
    {
        var main = After(layer.Main);
        return main.Features is null && Features is null && (main.Height, main.Width) == (Height, Width)
            ? main with { Channels = Channels + main.Channels }
            : throw new InvalidOperationException(
                $"Block '{layer.Name}': the main path gives {main.Describe()}, which cannot be stacked onto {Describe()}.");
    }

    private string Describe() => Features is int features ? $"{features} features" : $"a {Channels}x{Height}x{Width} map";

    private FeatureShape Map(int channels, int kernel, int stride, int padding, NetworkLayer layer)
    {
        int height = (Height + 2 * padding - kernel) / stride + 1;
        int width = (Width + 2 * padding - kernel) / stride + 1;
        if (Features is not null || height <= 0 || width <= 0)
        {
            throw new InvalidOperationException($"Layer '{layer.Name}' cannot take {Describe()}.");
        }
        return new FeatureShape(channels, height, width);
    }
}
