using System.Text;
using Serilog.Core;
using Serilog.Events;

namespace BrainTumor.Api.Infrastructure;

/// <summary>
/// Escapes control characters in every string a log event carries, so that a request path such as
/// <c>/models/a%0D%0A[05:00:00 ERR] FAKE</c> cannot forge a line in the text log: it is written as <c>\r\n</c>.
/// </summary>
public sealed class ControlCharacterEscaper : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        foreach (var (name, value) in logEvent.Properties.ToList())
        {
            if (value is ScalarValue { Value: string text } && text.Any(char.IsControl))
            {
                logEvent.AddOrUpdateProperty(new LogEventProperty(name, new ScalarValue(Escape(text))));
            }
        }
    }

    public static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            escaped.Append(c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        return escaped.ToString();
    }
}
