using System.Globalization;
using System.Text.RegularExpressions;

namespace BrainTumor.Api.Tests;

/// <summary>Reads series from /metrics' Prometheus text, whatever other labels (scope, protocol) the exporter adds.</summary>
public static partial class PrometheusText
{
    /// <summary>The sum of every sample of <paramref name="name"/> carrying all the given labels; 0 when there is none.</summary>
    public static double Sum(string text, string name, params (string Label, string Value)[] labels) =>
        Samples(text, name).Where(sample => labels.All(l => sample.Labels.GetValueOrDefault(l.Label) == l.Value))
            .Sum(sample => sample.Value);

    /// <summary>The label sets and values of every sample of <paramref name="name"/>.</summary>
    public static IEnumerable<(Dictionary<string, string> Labels, double Value)> Samples(string text, string name) =>
        text.Split('\n')
            .Select(line => SampleLine().Match(line.TrimEnd()))
            .Where(match => match.Success && match.Groups["name"].Value == name)
            .Select(match => (
                LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(pair => pair.Groups[1].Value, pair => pair.Groups[2].Value),
                double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
