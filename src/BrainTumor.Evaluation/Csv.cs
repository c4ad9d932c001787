using System.Text;

namespace BrainTumor.Evaluation;

/// <summary>Reads one line of RFC 4180 CSV: fields separated by commas, quoted when they hold commas or quotes ("" is a quote).</summary>
public static class Csv
{
    public static string[] SplitLine(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }
        if (quoted)
        {
            throw new FormatException($"An unclosed quote in the CSV line '{line}'.");
        }
        fields.Add(field.ToString());
        return [.. fields];
    }
}
