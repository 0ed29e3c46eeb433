using System.Text.Json;
using StackExchange.Redis;

namespace OrleansWs.Bench.Chaos;

/// <summary>The invariants of the chaos run. Each failure is a line of <see cref="Failures"/>; figures go in the report.</summary>
internal sealed class ChaosChecks(string redis, string runDir, IReadOnlyList<Fault> faults)
{
    // Errors the gateways log for a fault, by (category, event id): a grain call in flight to a dying silo fails (its
    // messages may have run; those read after it are dropped), or a connect does (503).
    // A subscription whose topic partition was on a silo going away may see no join marker within its bound (10 s): the
    // gateway logs it, and the subscribing hook fails with it (1011): a join is not a publish, and the log does not hold it.
    private static readonly HashSet<(string, int)> ExpectedOurs =
    [
        ("OrleansWs.Gateway.WebSocketConnection", 9),   // GrainCallFailed
        ("OrleansWs.Gateway.WebSocketConnection", 25),  // MessagesLost
        ("OrleansWs.Gateway.WebSocketConnection", 3),   // ConnectFailed
        ("OrleansWs.Internal.TopicFanout", 12),         // SubscribeFailed
    ];

    private const int HookFailed = 102;

    // The join's own bound (10 s, "saw none of its join markers"), or the hook's wait for the gateway around it (14 s).
    private const string JoinTimedOut = "subscription to topic";

    private static readonly TimeSpan AfterRecovery = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, object> _figures = [];

    public List<string> Failures { get; } = [];

    public async Task Ledger(IEnumerable<Connection> connections)
    {
        using var mux = await ConnectionMultiplexer.ConnectAsync(redis);
        var db = mux.GetDatabase();
        var opens = (await db.HashGetAllAsync("ledger:open")).ToDictionary(e => e.Name.ToString(), e => (long)e.Value);
        var closes = (await db.HashGetAllAsync("ledger:close")).ToDictionary(e => e.Name.ToString(), e => (long)e.Value);
        var attempts = (await db.HashGetAllAsync("ledger:attempt")).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
        var upgraded = connections.Where(c => c.Upgraded is not null).ToList();
        var named = upgraded.Where(c => c.PeerId is not null).ToList();
        foreach (var connection in named.Where(c => !opens.ContainsKey(c.PeerId!)))
        {
            Fail($"peer {connection.PeerId} saw its 101 and welcome, but the ledger has no OnOpen for it");
        }

        var reruns = 0;
        foreach (var (peer, opened) in opens)
        {
            var closed = closes.GetValueOrDefault(peer);
            var attempt = attempts.TryGetValue(peer, out var a) ? int.Parse(a.Split(':')[0]) : 0;
            if (opened != 1)
            {
                Fail($"OnOpen ran {opened} times for {peer}");
            }

            if (closed == 0)
            {
                Fail($"OnClose never ran for {peer}");
            }
            else if (closed > 1 && attempt < closed)
            {
                Fail($"OnClose ran {closed} times for {peer}, but its last attempt number is {attempt}");
            }
            else if (closed > 1)
            {
                reruns++;
            }
        }

        var rows = new List<string>();
        await foreach (var key in mux.GetServers()[0].KeysAsync(pattern: "*/ledger/*"))
        {
            rows.Add(key.ToString());
        }

        foreach (var row in rows.Take(5))
        {
            Fail($"a closed peer's row is left in the store: {row}");
        }

        _figures["peers opened (ledger)"] = opens.Count;
        _figures["peers closed (ledger)"] = closes.Count;
        _figures["OnClose run again after a silo died mid-close"] = reruns;
        _figures["clients that saw a 101"] = upgraded.Count;
        _figures["101s without a welcome frame"] = upgraded.Count - named.Count;
        _figures["rows left in the store"] = rows.Count;
        _figures["closes seen by clients, by code"] = string.Join(", ", upgraded.GroupBy(c => c.CloseCode?.ToString() ?? "none").OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}"));
    }

    public void Publishes(IEnumerable<Publication> publications, IEnumerable<Connection> connections, TimeSpan margin)
    {
        var subscribers = connections.Where(c => c is { Kind: "sub", PeerId: not null, Upgraded: not null }).ToLookup(c => c.Room);
        var (checkedCount, lostToSilo, lost, duplicated, unacked) = (0, 0, 0, 0, 0);
        foreach (var publication in publications)
        {
            if (publication.Acked is not { } acked)
            {
                unacked++;
                continue;
            }

            foreach (var subscriber in subscribers[publication.Room])
            {
                // Connected from before the publish until its acknowledgement and the margin.
                if (subscriber.Upgraded >= publication.Sent || (subscriber.Ended ?? DateTime.MaxValue) <= acked + margin)
                {
                    continue;
                }

                checkedCount++;
                int times;
                lock (subscriber.Received)
                {
                    times = subscriber.Received.TryGetValue(publication.Publisher, out var seqs) ? seqs.Count(s => s == publication.Seq) : 0;
                }

                if (times > 1)
                {
                    duplicated++;
                }
                else if (times == 0)
                {
                    // Topics ride a durable log: an acknowledged publish reaches every subscriber connected throughout,
                    // also across a silo's death.
                    var nearSilo = NearSiloFault(publication.Sent);
                    lostToSilo += nearSilo ? 1 : 0;
                    if (lost++ < 5)
                    {
                        Fail($"publish {publication.Publisher}:{publication.Seq} (acknowledged) never reached {subscriber.PeerId}{(nearSilo ? ", near a silo fault" : "")}");
                    }
                }
            }
        }

        var reordered = 0;
        foreach (var subscriber in subscribers.SelectMany(g => g))
        {
            lock (subscriber.Received)
            {
                reordered += subscriber.Received.Values.Count(seqs => seqs.Zip(seqs.Skip(1)).Any(p => p.Second <= p.First));
            }
        }

        if (duplicated > 0)
        {
            Fail($"{duplicated} deliveries arrived more than once");
        }

        if (reordered > 0)
        {
            Fail($"{reordered} subscriber streams saw a publisher's messages out of order");
        }

        if (lost > 0)
        {
            Fail($"{lost} acknowledged deliveries lost ({lostToSilo} of them around a silo fault)");
        }

        _figures["publishes acknowledged"] = publications.Count(p => p.Acked is not null);
        _figures["publishes never acknowledged (publisher dropped)"] = unacked;
        _figures["deliveries checked"] = checkedCount;
        _figures["deliveries lost"] = lost;
        _figures["of them around a silo fault"] = lostToSilo;
        _figures["deliveries duplicated"] = duplicated;
        _figures["subscriber streams out of order"] = reordered;
    }

    public void Recovery(TimeSpan bound)
    {
        foreach (var fault in faults)
        {
            if (fault.ServedAfter is not { } served || served > bound)
            {
                Fail($"{fault.Kind} {fault.Target}: a new client was served {(fault.ServedAfter is { } s ? $"{s.TotalSeconds:0.0} s" : "never")} after it (bound {bound.TotalSeconds} s)");
            }

            if (fault.Recovered is null)
            {
                Fail($"{fault.Kind} {fault.Target}: no client was served after the restart");
            }
        }

        foreach (var kind in ChaosFaults.Kinds)
        {
            var of = faults.Where(f => f.Kind == kind && f.ServedAfter is not null).Select(f => f.ServedAfter!.Value.TotalSeconds).ToList();
            var stops = faults.Where(f => f.Kind == kind).Select(f => f.StopTook.TotalSeconds).DefaultIfEmpty().ToList();
            _figures[$"faults: {kind}"] = of.Count == 0 ? "0" : $"{of.Count}; down {stops.Min():0.0}–{stops.Max():0.0} s after the signal, a new client served {of.Min():0.0}–{of.Max():0.0} s after that (p50 {of.Order().ElementAt(of.Count / 2):0.0} s)";
        }
    }

    public void Memory(IEnumerable<(string Name, long First, long Last)> survivors)
    {
        foreach (var (name, first, last) in survivors)
        {
            var bound = first * 3 / 2 + 50L * 1024 * 1024;
            _figures[$"RSS {name}"] = $"{first / 1048576} → {last / 1048576} MB";
            if (last > bound)
            {
                Fail($"{name} grew from {first / 1048576} MB to {last / 1048576} MB (bound 1.5× + 50 MB = {bound / 1048576} MB)");
            }
        }
    }

    public void Logs()
    {
        var (expected, unexpected) = (0, 0);
        foreach (var file in Directory.GetFiles(runDir, "*.log").Where(f => Path.GetFileName(f).StartsWith("silo", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("gateway", StringComparison.Ordinal)))
        {
            foreach (var line in File.ReadLines(file).Where(l => l.StartsWith('{')))
            {
                using var entry = JsonDocument.Parse(line);
                var root = entry.RootElement;
                var level = root.GetProperty("LogLevel").GetString();
                if (level is not ("Error" or "Critical"))
                {
                    continue;
                }

                var category = root.GetProperty("Category").GetString()!;
                var eventId = root.GetProperty("EventId").GetInt32();
                var time = root.GetProperty("Timestamp").GetDateTime().ToUniversalTime();
                // Orleans (and the Polly retries of its placement) reacting to a dead silo or client.
                var ours = !category.StartsWith("Orleans.", StringComparison.Ordinal) && category != "Polly";
                var joinFailed = eventId == HookFailed && root.TryGetProperty("Exception", out var exception) && exception.GetString()!.Contains(JoinTimedOut, StringComparison.Ordinal);
                if (InFaultWindow(time) && (!ours || ExpectedOurs.Contains((category, eventId)) || joinFailed))
                {
                    expected++;
                }
                else if (unexpected++ < 5)
                {
                    Fail($"unexpected {level} in {Path.GetFileName(file)} at {time:HH:mm:ss.fff}: {category}[{eventId}] {root.GetProperty("Message").GetString()}");
                }
            }
        }

        if (unexpected > 5)
        {
            Fail($"{unexpected - 5} more unexpected errors");
        }

        _figures["Error logs expected for the faults"] = expected;
    }

    /// <summary>Resuming clients lost nothing: every echo once and in order, every resume recovered, none ended early.</summary>
    public void Resumers(IReadOnlyList<Resumer> resumers)
    {
        foreach (var r in resumers)
        {
            if (r.Wrong > 0 || r.Received != r.Sent)
            {
                Fail($"resuming client {r.PeerId} sent {r.Sent}, got {r.Received} echoes in order and {r.Wrong} wrong ({string.Join("; ", r.FirstWrong)})");
            }

            if (r.Unrecovered > 0 || r.GaveUp is not null)
            {
                Fail($"resuming client {r.PeerId}: {r.Unrecovered} of {r.Resumed} resumes not recovered{(r.GaveUp is { } code ? $", ended early with {code}" : "")}");
            }
        }

        if (resumers.Count > 0 && resumers.Sum(r => r.Resumed) == 0)
        {
            Fail("no resuming client was dropped by a fault: the run did not test resume");
        }

        _figures["resuming clients: echoes, resumes"] = $"{resumers.Sum(r => r.Received)}, {resumers.Sum(r => r.Resumed)}";
    }

    public void Minimums(int minimumPeers, int minimumDeliveries, int echoErrors)
    {
        foreach (var kind in ChaosFaults.Kinds.Where(k => !faults.Any(f => f.Kind == k)))
        {
            Fail($"no fault of kind {kind} happened");
        }

        if ((int)_figures["peers opened (ledger)"] < minimumPeers)
        {
            Fail($"only {_figures["peers opened (ledger)"]} peers opened (at least {minimumPeers})");
        }

        if ((int)_figures["deliveries checked"] < minimumDeliveries)
        {
            Fail($"only {_figures["deliveries checked"]} deliveries checked (at least {minimumDeliveries})");
        }

        if (echoErrors > 0)
        {
            Fail($"{echoErrors} echoes came back wrong or out of order");
        }
    }

    public void Report(DateTime started, DateTime ended, string json)
    {
        _figures["run (s)"] = (int)(ended - started).TotalSeconds;
        foreach (var (name, value) in _figures)
        {
            Console.WriteLine($"  {name}: {value}");
        }

        foreach (var failure in Failures)
        {
            Console.WriteLine("FAIL " + failure);
        }

        Console.WriteLine(Failures.Count == 0 ? "chaos: every invariant held" : $"chaos: {Failures.Count} invariant failures");
        if (json.Length > 0)
        {
            File.AppendAllText(json, JsonSerializer.Serialize(_figures.ToDictionary(f => f.Key, f => f.Value.ToString())) + "\n");
        }
    }

    // Within a silo fault's window: topic queues live in memory, so a silo's death may take queued publishes with it.
    private bool NearSiloFault(DateTime time) => faults.Any(f => f.IsSilo && time >= f.Injected - TimeSpan.FromSeconds(2) && time <= (f.Recovered ?? f.Restarted) + TimeSpan.FromSeconds(5));

    private bool InFaultWindow(DateTime time) =>
        faults.Any(f => time >= f.Injected - TimeSpan.FromSeconds(1) && time <= (f.Recovered ?? f.Restarted) + AfterRecovery);

    private void Fail(string failure) => Failures.Add(failure);
}
