namespace BrainTumor.Evaluation;

/// <summary>
/// Temperature scaling: probabilities p become softmax(log p / T). T is fitted on held-out data by
/// minimising the log-loss (golden-section search over log T); T above 1 softens overconfident models.
/// </summary>
public static class Calibration
{
    public static double FitTemperature(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> truth)
    {
        double Loss(double logT) => ProbabilisticMetrics.MeanLogLoss(Apply(probabilities, Math.Exp(logT)), truth);
        double low = Math.Log(0.05), high = Math.Log(20);
        double ratio = (Math.Sqrt(5) - 1) / 2;
        double a = high - ratio * (high - low), b = low + ratio * (high - low);
        double fa = Loss(a), fb = Loss(b);
        for (int i = 0; i < 60; i++)
        {
            if (fa < fb)
            {
                high = b; b = a; fb = fa;
                a = high - ratio * (high - low); fa = Loss(a);
            }
            else
            {
                low = a; a = b; fa = fb;
                b = low + ratio * (high - low); fb = Loss(b);
            }
        }
        return Math.Exp((low + high) / 2);
    }

    public static float[][] Apply(IReadOnlyList<float[]> probabilities, double temperature) =>
        probabilities.Select(p =>
        {
            var scaled = p.Select(v => Math.Log(Math.Max(v, 1e-30)) / temperature).ToArray();
            double max = scaled.Max();
            var exp = scaled.Select(v => Math.Exp(v - max)).ToArray();
            double sum = exp.Sum();
            return exp.Select(v => (float)(v / sum)).ToArray();
        }).ToArray();
}
