using System.Diagnostics;
using System.Net.WebSockets;

namespace OrleansWs.Bench;

/// <summary>
/// Opens C connections to <c>/ws/echo</c> as fast as P parallel dialers allow (connects/s, handshake
/// latency), then holds them idle and reports each <c>--pid</c> server's resident memory per connection.
/// With <c>--touch 1</c> each connection first sends one 64-byte message and reads its echo, so that state a
/// socket makes on its first message (compression's, with <c>--deflate 1</c>) is counted.
/// </summary>
internal static class ConnectScenario
{
    public static async Task<int> Run(Arguments args)
    {
        var url = args.Get("url", "ws://127.0.0.1:5000").TrimEnd('/');
        var connections = args.Get("connections", 2000);
        var parallel = args.Get("parallel", 64);
        var hold = args.Get("hold", 5);
        var processes = ProcessSampler.FromArgument(args.Get("pid", ""));
        var path = args.Get("path", "/ws/echo");
        var groups = args.Get("groups", 0);
        var touch = args.Get("touch", 0) == 1;

        var before = processes.Sample();
        var handshakes = new double[connections];
        var (sockets, errors, elapsed) = await Dialer.OpenAll("connect", connections, parallel, async i =>
        {
            var started = Stopwatch.GetTimestamp();
            var socket = Dialer.NewSocket(args);
            try
            {
                await socket.ConnectAsync(new Uri(url + Dialer.PathFor(path, groups > 0 ? i % groups : i)), CancellationToken.None);
                if (touch)
                {
                    await socket.SendAsync(new byte[64], WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
                    await socket.ReceiveAsync(new byte[256], CancellationToken.None);
                }
            }
            catch (WebSocketException)
            {
                socket.Dispose();
                throw;
            }

            handshakes[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            return socket;
        });
        var open = sockets.Count(s => s is not null);

        // Idle: let the servers settle (collect garbage, trim) before reading their memory.
        await Task.Delay(TimeSpan.FromSeconds(hold));
        var after = processes.Sample();
        var sorted = handshakes.Where((_, i) => sockets[i] is not null).Order().ToArray();
        Console.WriteLine($"connect: {open} of {connections} connections ({parallel} dialers) in {elapsed.TotalSeconds:F2} s against {url}, errors {errors}");
        Console.WriteLine($"rate: {open / elapsed.TotalSeconds:F0} connects/s; handshake ms p50 {Stats.Percentile(sorted, 0.5):F2}  p99 {Stats.Percentile(sorted, 0.99):F2}");
        var serverRss = 0L;
        for (var i = 0; i < before.Count; i++)
        {
            if (before[i].Pid != Environment.ProcessId)
            {
                var delta = after[i].RssBytes - before[i].RssBytes;
                serverRss += delta;
                Console.WriteLine($"pid {before[i].Pid}: RSS +{delta / 1048576.0:F1} MiB = {delta / 1024.0 / Math.Max(1, open):F1} KB per idle connection");
            }
        }

        var metrics = new Dictionary<string, double>
        {
            ["connects_per_s"] = open / elapsed.TotalSeconds,
            ["p99_handshake_ms"] = Stats.Percentile(sorted, 0.99),
            ["errors"] = errors,
        };
        if (before.Count > 1)
        {
            // Only with --pid: otherwise no server was sampled.
            metrics["kb_per_connection"] = serverRss / 1024.0 / Math.Max(1, open);
        }

        if (before.Count > 2)
        {
            // Several servers (e.g. gateway and silo): each one's share too, in --pid order.
            for (var i = 0; i < before.Count - 1; i++)
            {
                metrics[$"kb_per_connection_pid{i + 1}"] = (after[i].RssBytes - before[i].RssBytes) / 1024.0 / Math.Max(1, open);
            }
        }

        // bench/run.sh names the run on a fresh server "idle-memory" and the one after warm-up "connect".
        Report.Json(args, args.Get("name", "connect"), metrics);

        foreach (var socket in sockets.OfType<ClientWebSocket>())
        {
            socket.Abort();
            socket.Dispose();
        }

        return errors == 0 ? 0 : 1;
    }
}
