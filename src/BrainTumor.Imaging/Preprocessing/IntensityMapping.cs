namespace BrainTumor.Imaging;

/// <summary>
/// Grey levels mapped from the image's own statistics, so that brightness and contrast, which tell the training images'
/// sources apart, no longer do: an affine change of grey levels moves the threshold and both percentiles together.
/// </summary>
public static class IntensityMapping
{
    /// <summary>
    /// Grey level the head's 99th percentile is mapped to; below 255 so that the brightest structures are not clipped flat.
    /// </summary>
    public const int HeadHighTarget = 224;

    /// <summary>
    /// Maps <paramref name="pixels"/> in place with <see cref="HeadPercentilesLookup"/>; leaves them as they are when the
    /// image has no contrast to measure.
    /// </summary>
    /// <param name="inside">Per input pixel, whether it lies wholly inside the image.</param>
    /// <param name="grey">The three planes are equal (the image was grey, <see cref="GreyLevels.AllGrey"/>).</param>
    internal static void HeadPercentiles(RgbImage pixels, bool[] inside, bool grey)
    {
        if (HeadPercentilesLookup(pixels, inside, grey) is not byte[] lookup)
        {
            return;
        }
        var planes = pixels.Planes;
        int plane = pixels.PixelCount;
        // A grey image's three planes are equal, so one is mapped and copied to the others.
        int mapped = grey ? plane : planes.Length;
        for (int i = 0; i < mapped; i++)
        {
            planes[i] = lookup[planes[i]];
        }
        if (mapped < planes.Length)
        {
            planes.AsSpan(0, plane).CopyTo(planes.AsSpan(plane, plane));
            planes.AsSpan(0, plane).CopyTo(planes.AsSpan(2 * plane, plane));
        }
    }


    /// <summary>
    /// One linear map of grey levels, measured on the input pixels that come from the image (the black fill of a
    /// crop that reaches past the image's edge does not count): the median of the background (at or below
    /// <see cref="GreyHistogram.HeadThreshold"/>) goes to 0 and the 99th percentile of the head (above it) to
    /// <see cref="HeadHighTarget"/>. Null when the image has no contrast to measure.
    /// </summary>
    private static byte[]? HeadPercentilesLookup(RgbImage pixels, bool[] inside, bool grey)
    {
        int n = pixels.PixelCount;
        var planes = pixels.Planes;
        Span<int> histogram = stackalloc int[256];
        histogram.Clear();
        if (grey)
        {
            // Where R = G = B the grey level is R.
            for (int p = 0; p < n; p++)
            {
                if (inside[p]) histogram[planes[p]]++;
            }
        }
        else
        {
            for (int p = 0; p < n; p++)
            {
                if (inside[p]) histogram[GreyLevels.Grey(planes, n, p)]++;
            }
        }
        if (GreyHistogram.HeadThreshold(histogram) is not int threshold)
        {
            return null;
        }
        double low = GreyHistogram.Percentile(histogram[..(threshold + 1)], 0.5);
        double high = threshold + 1 + GreyHistogram.Percentile(histogram[(threshold + 1)..], 0.99);
        if (high - low < 1)
        {
            return null;
        }
        double gain = HeadHighTarget / (high - low);
        var lookup = new byte[256];
        for (int v = 0; v < 256; v++)
        {
            lookup[v] = (byte)Math.Clamp(Math.Round((v - low) * gain), 0, 255);
        }
        return lookup;
    }
}
