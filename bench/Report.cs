using System.Globalization;
using System.Text.Json;

namespace OrleansWs.Bench;

/// <summary>
/// Machine-readable results: with <c>--json FILE</c> each scenario appends one JSON line
/// ({scenario, target, metrics}); <c>report FILE</c> turns such a file into a Markdown table of
/// medians with min–max per target, and ratios to the <c>raw</c> target.
/// </summary>
internal static class Report
{
    public static void Json(Arguments args, string scenario, Dictionary<string, double> metrics)
    {
        var file = args.Get("json", "");
        if (file.Length == 0)
        {
            return;
        }

        // JSON has no NaN: a figure a run could not measure (capacity with no clean step has no p99) is
        // left out, which the report prints as a missing value.
        var measured = metrics.Where(m => double.IsFinite(m.Value)).ToDictionary();
        var line = JsonSerializer.Serialize(new { scenario, target = args.Get("target", "server"), metrics = measured });
        File.AppendAllText(file, line + Environment.NewLine);
    }

    public static List<Row> Load(string file) =>
        File.ReadLines(file)
            .Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<Row>(l, JsonSerializerOptions.Web)!)
            .ToList();

    /// <summary>The runs' values of <paramref name="metric"/> (runs without it left out), sorted; the median is the middle one.</summary>
    public static double[] Values(IEnumerable<Row> runs, string metric) =>
        runs.Select(r => r.Metrics.GetValueOrDefault(metric, double.NaN)).Where(double.IsFinite).Order().ToArray();

    public static int Print(string file)
    {
        var rows = Load(file);
        foreach (var scenario in rows.GroupBy(r => r.Scenario))
        {
            var metrics = scenario.SelectMany(r => r.Metrics.Keys).Distinct().ToList();
            Console.WriteLine($"### {scenario.Key}\n");
            Console.WriteLine("| target | runs | " + string.Join(" | ", metrics) + " |");
            Console.WriteLine("|---|---|" + string.Concat(metrics.Select(_ => "---|")));
            var medians = new Dictionary<(string, string), double>();
            foreach (var target in scenario.GroupBy(r => r.Target))
            {
                var cells = metrics.Select(m =>
                {
                    var values = Values(target, m);
                    if (values.Length == 0)
                    {
                        return "–";
                    }

                    var median = values[values.Length / 2];
                    medians[(target.Key, m)] = median;
                    var ratio = target.Key != "raw" && medians.TryGetValue(("raw", m), out var raw) && raw != 0
                        ? $" ({median / raw * 100:F0} % of raw)"
                        : "";
                    return $"{Format(median)} [{Format(values[0])}–{Format(values[^1])}]{ratio}";
                });
                Console.WriteLine($"| {target.Key} | {target.Count()} | " + string.Join(" | ", cells) + " |");
            }

            Console.WriteLine();
        }

        return 0;
    }

    public static string Format(double value) =>
        Math.Abs(value) >= 100 ? value.ToString("N0", CultureInfo.InvariantCulture) : value.ToString("0.##", CultureInfo.InvariantCulture);

    public sealed record Row(string Scenario, string Target, Dictionary<string, double> Metrics);
}
