using System.Globalization;
using System.Net;
using System.Text;

namespace OrleansWs.Bench;

/// <summary>
/// Draws the headline figures of a results file as one SVG (no plotting library: bars and text are
/// enough): per scenario and metric, one bar per target at its median, labelled with the % of raw.
/// </summary>
internal static class Chart
{
    private static readonly (string Scenario, string Metric, string Title)[] Panels =
    [
        ("echo", "msgs_per_s", "echo throughput (msgs/s, higher is better)"),
        ("echo", "server_cpu_us_per_msg", "echo server CPU per message (µs, lower is better)"),
        ("echo", "p99_ms", "echo round trip p99 (ms)"),
        ("fanout", "deliveries_per_s", "fan-out deliveries/s"),
        ("fanout", "p99_ms", "fan-out delivery p99 (ms)"),
        ("capacity", "deliveries_per_s", "fan-out capacity (deliveries/s at p99 ≤ 100 ms, no loss)"),
        ("connect", "connects_per_s", "connects/s (higher is better)"),
        ("idle-memory", "kb_per_connection", "idle memory per connection (KB, all server processes)"),
    ];

    private static readonly string[] Colors = ["#6b7280", "#2563eb", "#16a34a", "#d97706"];

    public static int Write(string file, string svgPath)
    {
        var rows = Report.Load(file);
        var targets = rows.Select(r => r.Target).Distinct().ToList();
        var panels = Panels.Where(p => rows.Any(r => r.Scenario == p.Scenario && r.Metrics.ContainsKey(p.Metric))).ToList();
        const int Width = 460, BarHeight = 22, Gap = 6, Left = 90, Top = 40;
        var panelHeight = 34 + targets.Count * (BarHeight + Gap);
        var height = Top + ((panels.Count + 1) / 2) * (panelHeight + 16);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{2 * Width + 20}" height="{height}" font-family="sans-serif" font-size="12">""");
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="10" y="22" font-size="15" font-weight="bold">OrleansWs bench/run.sh: medians of {rows.Count(r => r.Scenario == "echo") / Math.Max(1, targets.Count)} runs per target ({Environment.ProcessorCount} cores)</text>""");
        for (var p = 0; p < panels.Count; p++)
        {
            var (scenario, metric, title) = panels[p];
            var (x, y) = (10 + p % 2 * (Width + 10), Top + p / 2 * (panelHeight + 16));
            var medians = targets.Select(t =>
            {
                var values = Report.Values(rows.Where(r => r.Scenario == scenario && r.Target == t), metric);
                return values.Length == 0 ? double.NaN : values[values.Length / 2];
            }).ToArray();
            var max = medians.Where(double.IsFinite).DefaultIfEmpty(1).Max();
            var raw = targets.IndexOf("raw") is >= 0 and var r0 ? medians[r0] : double.NaN;
            svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x}" y="{y + 14}" font-weight="bold">{WebUtility.HtmlEncode(title)}</text>""");
            for (var t = 0; t < targets.Count; t++)
            {
                var barY = y + 24 + t * (BarHeight + Gap);
                svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x}" y="{barY + 15}">{WebUtility.HtmlEncode(targets[t])}</text>""");
                if (!double.IsFinite(medians[t]))
                {
                    continue;
                }

                var length = max > 0 ? (Width - Left - 175) * medians[t] / max : 0;
                var label = Report.Format(medians[t]) + (targets[t] != "raw" && raw > 0 ? $" ({medians[t] / raw * 100:F0} % of raw)" : "");
                svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{x + Left}" y="{barY}" width="{Math.Max(1, length):F1}" height="{BarHeight}" fill="{Colors[t % Colors.Length]}"/>""");
                svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x + Left + length + 4:F1}" y="{barY + 15}">{WebUtility.HtmlEncode(label)}</text>""");
            }
        }

        svg.Append("</svg>");
        File.WriteAllText(svgPath, svg.ToString());
        Console.WriteLine($"chart: {svgPath}");
        return 0;
    }
}
