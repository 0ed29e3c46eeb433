using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.WebSockets;

namespace OrleansWs.Bench;

/// <summary>
/// C connections to <c>--path</c> (default <c>/ws/echo</c>; <c>{i}</c> in it becomes the connection's index, e.g.
/// <c>/ws/room?room=solo-{i}</c> for a room of its own), each keeping K binary messages of B bytes in flight for S
/// seconds; text frames (a room's welcome) are not replies. <c>--deflate 1</c> offers permessage-deflate.
/// Reports messages per second, round-trip latency percentiles, errors and, for every <c>--pid</c>,
/// the server's CPU time per message and its resident memory; with <c>--redis HOST:PORT</c> also the Redis memory each
/// message added (<c>used_memory</c> before and after: a publishing hook's log entry, history and id).
/// </summary>
internal static class EchoScenario
{
    public static async Task<int> Run(Arguments args)
    {
        var url = args.Get("url", "ws://127.0.0.1:5000").TrimEnd('/');
        var connections = args.Get("connections", 50);
        var inFlight = args.Get("inflight", 4);
        var payload = Math.Max(12, args.Get("payload", 64));
        var seconds = args.Get("seconds", 10);
        var processes = ProcessSampler.FromArgument(args.Get("pid", ""));
        var path = args.Get("path", "/ws/echo");

        var sockets = new ClientWebSocket[connections];
        for (var i = 0; i < connections; i++)
        {
            sockets[i] = Dialer.NewSocket(args);
            await sockets[i].ConnectAsync(new Uri(url + Dialer.PathFor(path, i)), CancellationToken.None);
        }

        var redis = args.Get("redis", "");
        var redisBefore = redis.Length > 0 ? await RedisUsedMemory(redis) : 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var before = processes.Sample();
        var clock = Stopwatch.StartNew();
        var results = sockets.Select(_ => new Result()).ToArray();
        await LiveProgress.Show(
            "echo",
            () => $"{results.Sum(r => r.Messages):N0} round trips, {clock.Elapsed.TotalSeconds:F0} of {seconds} s",
            Task.WhenAll(sockets.Select((s, i) => Drive(s, results[i], inFlight, payload, stop.Token))));
        var elapsed = clock.Elapsed;
        var after = processes.Sample();

        var messages = results.Sum(r => r.Messages);
        var latencies = results.SelectMany(r => r.LatenciesMs).Order().ToArray();
        var rate = messages / elapsed.TotalSeconds;
        Console.WriteLine($"echo: {connections} connections × {inFlight} in flight, {payload} B, {elapsed.TotalSeconds:F1} s against {url}");
        Console.WriteLine($"throughput: {rate:F0} msgs/s ({messages} round trips), errors {results.Sum(r => r.Errors)}");
        Console.WriteLine($"latency ms: p50 {Stats.Percentile(latencies, 0.5):F2}  p90 {Stats.Percentile(latencies, 0.9):F2}  p99 {Stats.Percentile(latencies, 0.99):F2}  max {latencies.LastOrDefault():F2}");
        foreach (var line in ProcessSampler.Describe(before, after, messages))
        {
            Console.WriteLine(line);
        }

        var redisBytes = redis.Length > 0 ? (double)(await RedisUsedMemory(redis) - redisBefore) / Math.Max(1, messages) : double.NaN;
        if (redis.Length > 0)
        {
            Console.WriteLine($"redis: {redisBytes:F0} B of memory per message");
        }

        Report.Json(args, args.Get("name", "echo"), new()
        {
            ["msgs_per_s"] = rate,
            ["p50_ms"] = Stats.Percentile(latencies, 0.5),
            ["p99_ms"] = Stats.Percentile(latencies, 0.99),
            ["server_cpu_us_per_msg"] = ProcessSampler.ServerCpuSeconds(before, after) * 1e6 / Math.Max(1, messages),
            ["errors"] = results.Sum(r => r.Errors),
            // Resident memory of the server processes with the connections open and busy (e.g. compression's state).
            ["server_rss_mb"] = after.Where(p => p.Pid != Environment.ProcessId).Sum(p => p.RssBytes) / 1048576.0,
            ["redis_bytes_per_msg"] = redisBytes,
        });

        foreach (var socket in sockets)
        {
            socket.Abort();
            socket.Dispose();
        }

        return 0;
    }

    private static async Task<long> RedisUsedMemory(string endpoint)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(endpoint);
        var info = (string?)await redis.GetDatabase().ExecuteAsync("INFO", "memory") ?? "";
        var line = info.Split('\n').First(l => l.StartsWith("used_memory:", StringComparison.Ordinal));
        return long.Parse(line["used_memory:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task Drive(ClientWebSocket socket, Result result, int inFlight, int payload, CancellationToken stop)
    {
        var send = new byte[payload];
        var receive = new byte[payload + 64];
        var outstanding = 0;
        try
        {
            // Prime the window, then send one for every echo that comes back.
            for (; outstanding < inFlight; outstanding++)
            {
                await SendStamped(socket, send);
            }

            while (true)
            {
                var r = await socket.ReceiveAsync(receive.AsMemory(), CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                if (r.MessageType == WebSocketMessageType.Text)
                {
                    continue;
                }

                var sent = BinaryPrimitives.ReadInt64LittleEndian(receive);
                result.Record(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                outstanding--;
                if (stop.IsCancellationRequested)
                {
                    if (outstanding == 0)
                    {
                        break;
                    }

                    continue;
                }

                await SendStamped(socket, send);
                outstanding++;
            }
        }
        catch (WebSocketException)
        {
            result.Errors++;
        }
    }

    private static Task SendStamped(ClientWebSocket socket, byte[] buffer)
    {
        BinaryPrimitives.WriteInt64LittleEndian(buffer, Stopwatch.GetTimestamp());
        return socket.SendAsync(buffer, WebSocketMessageType.Binary, true, CancellationToken.None);
    }

    private sealed class Result
    {
        private const int MaxSamples = 200_000;

        public long Messages { get; private set; }

        public int Errors { get; set; }

        public List<double> LatenciesMs { get; } = [];

        public void Record(double ms)
        {
            Messages++;
            // Bounded memory: keep every sample up to the cap, then one in eight.
            if (LatenciesMs.Count < MaxSamples || Messages % 8 == 0)
            {
                LatenciesMs.Add(ms);
            }
        }
    }
}
