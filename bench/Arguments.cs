namespace OrleansWs.Bench;

/// <summary>"--name value" pairs from the command line.</summary>
internal sealed class Arguments(Dictionary<string, string> values)
{
    public static Arguments Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i + 1 < args.Count; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Expected an option, got '{args[i]}'.");
            }

            values[args[i][2..]] = args[i + 1];
        }

        return new Arguments(values);
    }

    public string Get(string name, string fallback) => values.GetValueOrDefault(name, fallback);

    public int Get(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v) : fallback;
}
