using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using OrleansWs.Client;
using StackExchange.Redis;

namespace OrleansWs.Bench;

/// <summary>
/// What resume costs and what it buys, on a running scaled cluster (bench/resume.sh starts one):
/// echo with resume off and on in turns (CPU per message of the gateway and silo, the store's Redis write commands
/// per message), idle chat peers without and with resume (resident memory per peer on the gateway and the silo), then
/// kill -9 of the gateway the resumable peers are on while a publisher on the other gateway keeps publishing: the time
/// from the kill to each peer's resume, the publishes each one recovered, and that none was lost or repeated.
/// </summary>
internal static class ResumeScenario
{
    // Orleans' Redis grain storage writes a grain's state with one script call (an etag check and the write).
    private static readonly HashSet<string> WriteCommands =
        ["eval", "evalsha"];

    public static async Task<int> Run(Arguments args)
    {
        var gateway = new Uri(args.Get("gateway", "ws://127.0.0.1:17061"));
        var survivor = new Uri(args.Get("survivor", "ws://127.0.0.1:17062"));
        var pids = args.Get("pid", "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        var peers = args.Get("peers", 1000);
        var seconds = args.Get("seconds", 10);
        using var redis = await ConnectionMultiplexer.ConnectAsync(args.Get("redis", "127.0.0.1:17000") + ",allowAdmin=true");
        var metrics = new Dictionary<string, double>();

        // Cost: the same echo loop over plain and over resumable connections of the same endpoint, in turns.
        // A round of each first, unreported: a fresh cluster's first seconds measure its warm-up (JIT, pools, activations).
        foreach (var round in new[] { "warm-off", "warm-on", "off", "on", "off", "on" })
        {
            var (messages, cpu, writes) = await Echo(gateway, round.EndsWith("on", StringComparison.Ordinal), connections: args.Get("connections", 50), seconds, pids, redis);
            if (round.StartsWith("warm", StringComparison.Ordinal))
            {
                continue;
            }

            Console.WriteLine($"echo resume {round}: {messages / (double)seconds:F0} msgs/s, servers {cpu * 1e6 / messages:F1} CPU µs/msg, {writes / (double)messages:F2} grain writes/msg");
            metrics[$"echo_{round}_us_per_msg"] = metrics.GetValueOrDefault($"echo_{round}_us_per_msg") + cpu * 1e6 / messages / 2;
            metrics[$"echo_{round}_writes_per_msg"] = metrics.GetValueOrDefault($"echo_{round}_writes_per_msg") + writes / (double)messages / 2;
        }

        // Memory: idle chat peers in a room, plain first, then as many resumable ones beside them.
        var room = "resume-" + Guid.NewGuid().ToString("N")[..8];
        var chat = new Uri(gateway, "/ws/chat?room=" + room);
        var sampler = new ProcessSampler(pids);
        var before = sampler.Sample();
        var plain = await Dialer.OpenAll("plain", peers, 32, async _ =>
        {
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri(gateway, "/ws/chat?room=" + room + "-plain"), CancellationToken.None);
            return socket;
        });
        await Task.Delay(TimeSpan.FromSeconds(5));
        var withPlain = sampler.Sample();
        var clients = new ConcurrentBag<Watched>();
        await Dialer.OpenAll("resumable", peers, 32, async _ =>
        {
            var watched = await Watched.Connect(chat, survivor);
            clients.Add(watched);
            return watched;
        });
        await Task.Delay(TimeSpan.FromSeconds(5));
        var withResumable = sampler.Sample();
        for (var i = 0; i < pids.Length; i++)
        {
            var plainKb = (withPlain[i].RssBytes - before[i].RssBytes) / 1024.0 / peers;
            var resumableKb = (withResumable[i].RssBytes - withPlain[i].RssBytes) / 1024.0 / peers;
            Console.WriteLine($"pid {pids[i]}: {plainKb:F1} KB per idle peer without resume, {resumableKb:F1} KB with");
            metrics[$"kb_per_peer_off_pid{i + 1}"] = plainKb;
            metrics[$"kb_per_peer_on_pid{i + 1}"] = resumableKb;
        }

        foreach (var socket in plain.Opened.OfType<ClientWebSocket>())
        {
            socket.Abort();
            socket.Dispose();
        }

        // Resume: a publisher on the surviving gateway; the resumable peers' gateway is killed mid-stream.
        using var publisher = new ClientWebSocket();
        await publisher.ConnectAsync(new Uri(survivor, "/ws/chat?room=" + room), CancellationToken.None);
        var published = 0;
        using var stopPublishing = new CancellationTokenSource();
        var publishing = Task.Run(async () =>
        {
            while (!stopPublishing.IsCancellationRequested)
            {
                var text = $"{++published}:{DateTime.UtcNow.Ticks}";
                await publisher.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
                await Task.Delay(1000 / args.Get("rate", 10));
            }
        });
        await Task.Delay(TimeSpan.FromSeconds(3));
        var killed = DateTime.UtcNow;
        var kill = Process.Start(args.Get("cluster", "scripts/cluster.sh"), ["kill", args.Get("victim", "gateway1")]);
        await kill.WaitForExitAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (clients.Any(c => c.ResumedAt is null) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        await stopPublishing.CancelAsync();
        await publishing;
        await Task.Delay(TimeSpan.FromSeconds(2));

        var resumed = clients.Where(c => c.ResumedAt is not null).ToList();
        var times = resumed.Select(c => (c.ResumedAt!.Value - killed).TotalMilliseconds).Order().ToArray();
        var fromDrop = resumed.Select(c => (c.ResumedAt!.Value - (c.DroppedAt ?? killed)).TotalMilliseconds).Order().ToArray();
        if (clients.FirstOrDefault(c => c.Gaps > 0) is { } gapped)
        {
            Console.WriteLine($"first gap: {gapped.FirstGap}; killed {killed:HH:mm:ss.fff}");
        }
        var recovered = resumed.Select(c => (double)c.Recovered(killed)).Order().ToArray();
        var gaps = clients.Sum(c => c.Gaps + c.MissingAtEnd(published));
        Console.WriteLine($"resume after kill -9: {resumed.Count} of {clients.Count} peers resumed ({resumed.Count(c => c.WasRecovered)} recovered), " +
            $"ms after the kill p50 {Stats.Percentile(times, 0.5):F0} p99 {Stats.Percentile(times, 0.99):F0} max {times.LastOrDefault():F0}; " +
            $"after the client saw the drop p50 {Stats.Percentile(fromDrop, 0.5):F0} p99 {Stats.Percentile(fromDrop, 0.99):F0}");
        Console.WriteLine($"publishes recovered per resume: p50 {Stats.Percentile(recovered, 0.5)} max {recovered.LastOrDefault()}; " +
            $"{published} published, lost, repeated or reordered deliveries: {gaps}");
        metrics["resume_ms_p50"] = Stats.Percentile(times, 0.5);
        metrics["resume_ms_p99"] = Stats.Percentile(times, 0.99);
        metrics["resume_after_drop_ms_p50"] = Stats.Percentile(fromDrop, 0.5);
        metrics["resume_after_drop_ms_p99"] = Stats.Percentile(fromDrop, 0.99);
        metrics["recovered_per_resume_p50"] = Stats.Percentile(recovered, 0.5);
        metrics["unresumed"] = clients.Count - resumed.Count;
        metrics["gaps"] = gaps;
        Report.Json(args, args.Get("name", "resume"), metrics);

        foreach (var client in clients)
        {
            await client.Socket.DisposeAsync();
        }

        return resumed.Count == clients.Count && gaps == 0 ? 0 : 1;
    }

    // Echo for `seconds` over `connections` sockets, one message in flight each: messages, server CPU s, store writes.
    private static async Task<(long Messages, double Cpu, long Writes)> Echo(Uri gateway, bool resume, int connections, int seconds, int[] pids, ConnectionMultiplexer redis)
    {
        var uri = new Uri(gateway, "/ws/echo");
        var sockets = new List<Func<string, Task<string>>>();
        var disposables = new List<IAsyncDisposable>();
        for (var i = 0; i < connections; i++)
        {
            if (resume)
            {
                var client = await ResumableWebSocket.ConnectAsync(uri);
                var reader = client.ReadAllAsync().GetAsyncEnumerator();
                disposables.Add(client);
                sockets.Add(async text =>
                {
                    await client.SendAsync(text);
                    return await reader.MoveNextAsync() ? reader.Current.Text() : "";
                });
            }
            else
            {
                var socket = new ClientWebSocket();
                await socket.ConnectAsync(uri, CancellationToken.None);
                disposables.Add(new Aborting(socket));
                var buffer = new byte[256];
                sockets.Add(async text =>
                {
                    await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
                    var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    return Encoding.UTF8.GetString(buffer, 0, result.Count);
                });
            }
        }

        // One round first, so that every peer is activated before the measured window.
        await Task.WhenAll(sockets.Select(echo => echo("warm")));
        var sampler = new ProcessSampler(pids);
        var writesBefore = Writes(redis);
        var before = sampler.Sample();
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        var counts = await Task.WhenAll(sockets.Select(async echo =>
        {
            var n = 0L;
            while (DateTime.UtcNow < end)
            {
                if (await echo("x" + n) != "x" + n)
                {
                    throw new InvalidOperationException("An echo came back wrong.");
                }

                n++;
            }

            return n;
        }));
        var after = sampler.Sample();
        var writes = Writes(redis) - writesBefore;
        foreach (var disposable in disposables)
        {
            await disposable.DisposeAsync();
        }

        return (counts.Sum(), ProcessSampler.ServerCpuSeconds(before, after), writes);
    }

    private static long Writes(ConnectionMultiplexer redis)
    {
        var stats = redis.GetServers()[0].Info("commandstats").SelectMany(g => g);
        return stats.Where(s => WriteCommands.Contains(s.Key.Replace("cmdstat_", ""))).Sum(s => long.Parse(s.Value.Split(',')[0].Split('=')[1]));
    }

    private sealed class Aborting(ClientWebSocket socket) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            socket.Abort();
            socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>A resumable chat peer that records when it resumed and every publish it was shown.</summary>
    private sealed class Watched : IAsyncDisposable
    {
        private readonly List<(int Seq, long Ticks)> _shown = [];
        private Task _reading = Task.CompletedTask;

        private Watched(ResumableWebSocket socket) => Socket = socket;

        public ResumableWebSocket Socket { get; }

        public DateTime? ResumedAt { get; private set; }

        public DateTime? DroppedAt { get; private set; }

        public int Resumes { get; private set; }

        public string FirstGap
        {
            get
            {
                lock (_shown)
                {
                    var i = _shown.Skip(1).Select((s, i) => (s, i)).FirstOrDefault(p => p.s.Seq != _shown[p.i].Seq + 1).i;
                    return string.Join(",", _shown.Skip(Math.Max(0, i - 2)).Take(6).Select(s => $"{s.Seq}@{new DateTime(s.Ticks):HH:mm:ss.fff}"))
                        + $"; dropped {DroppedAt:HH:mm:ss.fff}, resumed {ResumedAt:HH:mm:ss.fff} ({Resumes} resumes)";
                }
            }
        }

        public bool WasRecovered { get; private set; }

        /// <summary>Publishes shown out of sequence: lost, repeated or reordered.</summary>
        public int Gaps
        {
            get
            {
                lock (_shown)
                {
                    return _shown.Skip(1).Where((s, i) => s.Seq != _shown[i].Seq + 1).Count();
                }
            }
        }

        public static async Task<Watched> Connect(Uri chat, Uri survivor)
        {
            var socket = await ResumableWebSocket.ConnectAsync(chat, new ResumableWebSocketOptions
            {
                InitialBackoff = TimeSpan.FromMilliseconds(100),
                MaxBackoff = TimeSpan.FromSeconds(2),
                ReconnectUri = _ => new Uri(survivor, chat.PathAndQuery),
            });
            var watched = new Watched(socket);
            socket.Reconnecting += (_, _) => watched.DroppedAt ??= DateTime.UtcNow;
            socket.Resumed += (_, e) => (watched.ResumedAt, watched.WasRecovered, watched.Resumes) = (DateTime.UtcNow, e.Recovered, watched.Resumes + 1);
            watched._reading = Task.Run(async () =>
            {
                await foreach (var message in socket.ReadAllAsync())
                {
                    var parts = message.Text().Split(':');
                    lock (watched._shown)
                    {
                        watched._shown.Add((int.Parse(parts[0]), long.Parse(parts[1])));
                    }
                }
            });
            return watched;
        }

        /// <summary>Publishes it was never shown before its first or after its last (a lost head or tail, or nothing at all).</summary>
        public int MissingAtEnd(int published)
        {
            lock (_shown)
            {
                return _shown.Count == 0 ? published : _shown[0].Seq - 1 + published - _shown[^1].Seq;
            }
        }

        /// <summary>Publishes made between the kill and this peer's resume: it was away for all of them, so each came from the topic's history.</summary>
        public int Recovered(DateTime killed)
        {
            lock (_shown)
            {
                return _shown.Count(s => s.Ticks >= killed.Ticks && s.Ticks <= ResumedAt!.Value.Ticks);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Socket.DisposeAsync();
            await _reading;
        }
    }
}
