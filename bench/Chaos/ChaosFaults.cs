using System.Diagnostics;

namespace OrleansWs.Bench.Chaos;

/// <summary>A fault and its repair: when it was injected, when a new client was first served after it, when the process was back.</summary>
/// <remarks>
/// A SIGTERM's process may take a while to go (a silo hands its grains over): <see cref="Down"/> is when it had, and
/// new clients are counted from then.
/// </remarks>
internal sealed record Fault(string Kind, string Target, DateTime Injected, DateTime Down, DateTime? FirstServed, DateTime Restarted, DateTime? Recovered)
{
    public TimeSpan? ServedAfter => FirstServed - Down;

    public TimeSpan StopTook => Down - Injected;

    public TimeSpan? RecoveredAfter => Recovered - Restarted;

    public bool IsSilo => Kind.StartsWith("silo", StringComparison.Ordinal);
}

/// <summary>
/// Injects one fault at a time through scripts/cluster.sh (kill -9 or SIGTERM of a silo or a gateway), waits until a
/// new client is served without the process, restarts it, and waits until a new client is served again: only then is
/// the next fault due. The kinds come round-robin in a seeded order, so every kind occurs in every four faults.
/// </summary>
internal sealed class ChaosFaults(string clusterScript, int silos, int gateways, Random random)
{
    public static readonly string[] Kinds = ["silo-kill", "silo-term", "gateway-kill", "gateway-term"];

    private string[] _round = [];

    public List<Fault> Done { get; } = [];

    public async Task InjectNext(ChaosLoad load)
    {
        if (Done.Count % Kinds.Length == 0)
        {
            _round = Kinds.OrderBy(_ => random.Next()).ToArray();
        }

        var kind = _round[Done.Count % Kinds.Length];
        var role = kind.StartsWith("silo", StringComparison.Ordinal) ? "silo" : "gateway";
        var target = role + random.Next(1, (role == "silo" ? silos : gateways) + 1);
        var injected = DateTime.UtcNow;
        Console.WriteLine($"{injected:HH:mm:ss.fff} fault {Done.Count + 1}: {kind} {target}");
        await Cluster(kind.EndsWith("kill", StringComparison.Ordinal) ? "kill" : "stop", target);
        var down = DateTime.UtcNow;
        var served = await ServedWithin(load, TimeSpan.FromSeconds(60));
        await Task.Delay(random.Next(0, 3000));
        await Cluster("start", target);
        var restarted = DateTime.UtcNow;
        var recovered = await ServedWithin(load, TimeSpan.FromSeconds(60));
        var fault = new Fault(kind, target, injected, down, served, restarted, recovered);
        Done.Add(fault);
        Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff}   down {Seconds(fault.StopTook)} after it, a new client served {Seconds(fault.ServedAfter)} after that, again {Seconds(fault.RecoveredAfter)} after the restart");
    }

    private static string Seconds(TimeSpan? t) => t is { } v ? $"{v.TotalSeconds:0.0} s" : "never";

    private static async Task<DateTime?> ServedWithin(ChaosLoad load, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (await load.Probe())
            {
                return DateTime.UtcNow;
            }

            await Task.Delay(200);
        }

        return null;
    }

    private async Task Cluster(string verb, string target)
    {
        using var process = Process.Start(new ProcessStartInfo("bash", [clusterScript, verb, target])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var output = process.StandardOutput.ReadToEndAsync(limit.Token);
        var error = process.StandardError.ReadToEndAsync(limit.Token);
        await process.WaitForExitAsync(limit.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"cluster.sh {verb} {target} exited {process.ExitCode}: {await output}{await error}");
        }
    }
}

/// <summary>The resident memory of every silo and gateway process, from its PID file, first and last seen.</summary>
internal sealed class MemoryWatch(string runDir)
{
    private readonly Dictionary<(string Name, int Pid), (long First, long Last)> _seen = [];

    /// <summary>Samples every process now; returns which were sampled.</summary>
    public HashSet<(string, int)> Sample()
    {
        var sampled = new HashSet<(string, int)>();
        foreach (var file in Directory.GetFiles(runDir, "*.pid"))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (!name.StartsWith("silo", StringComparison.Ordinal) && !name.StartsWith("gateway", StringComparison.Ordinal))
            {
                continue;
            }

            if (int.TryParse(File.ReadAllText(file).Trim(), out var pid) && Rss(pid) is { } rss)
            {
                _seen[(name, pid)] = _seen.TryGetValue((name, pid), out var known) ? (known.First, rss) : (rss, rss);
                sampled.Add((name, pid));
            }
        }

        return sampled;
    }

    /// <summary>The processes of both samples (they lived through the run), with their memory at each.</summary>
    public IEnumerable<(string Name, long First, long Last)> Survivors(ISet<(string, int)> atStart, ISet<(string, int)> atEnd) =>
        _seen.Where(p => atStart.Contains(p.Key) && atEnd.Contains(p.Key)).Select(p => (p.Key.Name, p.Value.First, p.Value.Last));

    private static long? Rss(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
