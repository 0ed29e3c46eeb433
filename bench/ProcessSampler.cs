namespace OrleansWs.Bench;

/// <summary>
/// CPU time and resident memory of server processes (and of the benchmark itself) from /proc, so
/// that figures can be read as CPU µs per message on a shared, noisy machine.
/// </summary>
internal sealed class ProcessSampler(IReadOnlyList<int> pids)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    public static ProcessSampler FromArgument(string pids) =>
        new(pids.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).Append(Environment.ProcessId).ToArray());

    public IReadOnlyList<(int Pid, double CpuSeconds, long RssBytes)> Sample() =>
        pids.Select(pid => (pid, CpuSeconds(pid), Rss(pid))).ToArray();

    /// <summary>CPU seconds the server processes (not the benchmark) spent between two samples.</summary>
    public static double ServerCpuSeconds(IReadOnlyList<(int Pid, double CpuSeconds, long RssBytes)> before, IReadOnlyList<(int Pid, double CpuSeconds, long RssBytes)> after) =>
        before.Select((b, i) => b.Pid == Environment.ProcessId ? 0 : after[i].CpuSeconds - b.CpuSeconds).Sum();

    public static IEnumerable<string> Describe(IReadOnlyList<(int Pid, double CpuSeconds, long RssBytes)> before, IReadOnlyList<(int Pid, double CpuSeconds, long RssBytes)> after, long messages)
    {
        var servers = 0.0;
        for (var i = 0; i < before.Count; i++)
        {
            var cpu = after[i].CpuSeconds - before[i].CpuSeconds;
            var self = before[i].Pid == Environment.ProcessId;
            if (!self)
            {
                servers += cpu;
            }

            yield return $"{(self ? "bench" : "pid " + before[i].Pid)}: CPU {cpu:F2} s ({cpu * 1e6 / Math.Max(1, messages):F1} µs/msg), RSS {after[i].RssBytes / 1048576.0:F0} MiB";
        }

        if (before.Count > 1)
        {
            yield return $"servers: {servers * 1e6 / Math.Max(1, messages):F1} CPU µs/msg";
        }
    }

    private static double CpuSeconds(int pid)
    {
        // Fields after the command name (which may contain spaces) start after the last ')'.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / TicksPerSecond;
    }

    private static long Rss(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }
}
