using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.WebSockets;

namespace OrleansWs.Bench;

/// <summary>
/// One publisher and N subscribers in one room of <c>/ws/chat</c>. Each message carries a sequence
/// number and the publisher's timestamp; subscribers live in this process, so one clock measures
/// the whole publish→delivery path (gateway → peer grain → topic stream → every gateway → socket).
/// </summary>
internal static class FanoutScenario
{
    public static async Task<int> Run(Arguments args)
    {
        var (metrics, clean) = await Measure(
            args.Get("url", "ws://127.0.0.1:5000").Split(','),
            args.Get("subscribers", 50),
            args.Get("rate", 200),
            args.Get("seconds", 10),
            Math.Max(16, args.Get("payload", 64)),
            ProcessSampler.FromArgument(args.Get("pid", "")));
        Report.Json(args, "fanout", metrics);
        return clean ? 0 : 1;
    }

    /// <summary>
    /// Fan-out capacity: after one unmeasured warm-up step at <c>--rate</c> (default 100), doubles the
    /// publish rate with <c>--seconds</c> (default 5) per step until a step loses a message, is closed by
    /// the server, or its p99 exceeds <c>--p99</c> ms (default 100); then bisects between the last clean
    /// and the first failed rate <c>--refine</c> times (default 3, so within 1/8 of the gap) and reports
    /// the highest clean step. Bounded by <c>--max-rate</c> (25,600).
    /// </summary>
    public static async Task<int> Capacity(Arguments args)
    {
        var urls = args.Get("url", "ws://127.0.0.1:5000").Split(',');
        var subscribers = args.Get("subscribers", 100);
        var limit = args.Get("p99", 100);
        var seconds = args.Get("seconds", 5);
        var maxRate = args.Get("max-rate", 25_600);
        var processes = ProcessSampler.FromArgument(args.Get("pid", ""));
        Dictionary<string, double>? best = null;
        var bestRate = 0;

        // The first step pays for JIT and topic set-up in the servers; it would fail targets for that alone.
        await Measure(urls, subscribers, args.Get("rate", 100), 2, 64, processes);

        int? failedRate = null;
        for (var rate = args.Get("rate", 100); rate <= maxRate; rate *= 2)
        {
            if (!await Step(rate))
            {
                failedRate = rate;
                break;
            }
        }

        for (var i = 0; i < args.Get("refine", 3) && failedRate is { } failed && failed - bestRate > 1; i++)
        {
            var rate = (bestRate + failed) / 2;
            if (!await Step(rate))
            {
                failedRate = rate;
            }
        }

        async Task<bool> Step(int rate)
        {
            var (metrics, clean) = await Measure(urls, subscribers, rate, seconds, 64, processes);
            if (!clean || metrics["closed_by_server"] > 0 || metrics["p99_ms"] > limit)
            {
                return false;
            }

            (best, bestRate) = (metrics, rate);
            return true;
        }

        Console.WriteLine(best is null
            ? $"capacity: no clean step (even the first rate lost messages or had p99 above {limit} ms)"
            : $"capacity: {bestRate} msg/s to {subscribers} subscribers = {best["deliveries_per_s"]:F0} deliveries/s, p99 {best["p99_ms"]:F1} ms");
        // bench/run.sh runs it twice: "capacity" (100 subscribers, p99 100 ms) and "capacity-p99-30ms".
        Report.Json(args, args.Get("name", "capacity"), new()
        {
            ["max_rate"] = bestRate,
            ["deliveries_per_s"] = best?["deliveries_per_s"] ?? 0,
            ["p99_ms"] = best?["p99_ms"] ?? double.NaN,
            ["server_cpu_us_per_delivery"] = best?["server_cpu_us_per_delivery"] ?? double.NaN,
        });
        return best is null ? 1 : 0;
    }

    private static async Task<(Dictionary<string, double> Metrics, bool Clean)> Measure(
        string[] urls, int subscribers, int rate, int seconds, int payload, ProcessSampler processes)
    {
        var room = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var total = rate * seconds;

        var receivers = new Receiver[subscribers];
        for (var i = 0; i < subscribers; i++)
        {
            receivers[i] = await Receiver.Connect(new Uri($"{urls[i % urls.Length].TrimEnd('/')}/ws/chat?room={room}"), total);
        }

        var publisher = await Receiver.Connect(new Uri($"{urls[0].TrimEnd('/')}/ws/chat?room={room}"), total);
        var message = new byte[payload];
        var before = processes.Sample();
        var started = Stopwatch.GetTimestamp();
        var published = 0;
        Exception? publisherLost = null;
        await LiveProgress.Show(
            "fanout",
            () => $"published {Volatile.Read(ref published):N0} of {total:N0}, delivered {receivers.Sum(r => (long)r.Distinct):N0} of {(long)total * subscribers:N0}",
            Publish());

        // Deliveries still in flight get a bounded grace period. The receivers stop before they are
        // counted: a receive loop still adding latencies while they are read would throw.
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await Task.WhenAll(receivers.Select(r => r.WaitForAll(grace.Token)));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var after = processes.Sample();
        // Taken before the receivers close: their own close handshake would read as a close by the server.
        var closed = receivers.Where(r => r.ServerClose is not null).ToList();
        foreach (var r in receivers.Append(publisher))
        {
            await r.DisposeAsync();
        }

        var latencies = receivers.SelectMany(r => r.LatenciesMs).Order().ToArray();
        var lost = receivers.Sum(r => (long)total - r.Distinct);
        var duplicated = receivers.Sum(r => (long)r.Duplicates);
        var reordered = receivers.Sum(r => (long)r.Reordered);
        Console.WriteLine($"fanout: {subscribers} subscribers over {urls.Length} URL(s), {rate} msg/s for {seconds} s, {payload} B");
        Console.WriteLine($"deliveries: {latencies.Length} in {elapsed.TotalSeconds:F1} s ({latencies.Length / elapsed.TotalSeconds:F0}/s)");
        Console.WriteLine($"latency ms: p50 {Stats.Percentile(latencies, 0.50):F2}  p90 {Stats.Percentile(latencies, 0.90):F2}  p99 {Stats.Percentile(latencies, 0.99):F2}  max {latencies.LastOrDefault():F2}");
        Console.WriteLine($"lost {lost} (not delivered within 5 s of the last publish), duplicated {duplicated}, reordered {reordered}, sender got its own: {publisher.Distinct > 0}");
        Console.WriteLine($"subscribers closed by the server: {closed.Count}{string.Concat(closed.GroupBy(r => (int)r.ServerClose!.Value).Select(g => $", {g.Count()} × {g.Key}"))}");
        if (publisherLost is not null)
        {
            Console.WriteLine($"the publisher's socket failed after {published} publishes: {publisherLost.Message}");
        }

        foreach (var line in ProcessSampler.Describe(before, after, latencies.Length))
        {
            Console.WriteLine(line.Replace("/msg", "/delivery", StringComparison.Ordinal));
        }

        var metrics = new Dictionary<string, double>
        {
            ["deliveries_per_s"] = latencies.Length / elapsed.TotalSeconds,
            ["p50_ms"] = Stats.Percentile(latencies, 0.50),
            ["p99_ms"] = Stats.Percentile(latencies, 0.99),
            ["lost"] = lost,
            ["duplicated"] = duplicated,
            ["reordered"] = reordered,
            ["own"] = publisher.Distinct,
            ["closed_by_server"] = closed.Count + (publisherLost is null ? 0 : 1),
            ["server_cpu_us_per_delivery"] = ProcessSampler.ServerCpuSeconds(before, after) * 1e6 / Math.Max(1, latencies.Length),
        };

        return (metrics, lost == 0 && duplicated == 0 && reordered == 0 && publisher.Distinct == 0 && publisherLost is null);

        async Task Publish()
        {
            for (var seq = 0; seq < total; seq++)
            {
                // Pace by the clock, not by sleeping a fixed step, so slow sends do not lower the rate.
                var due = started + (long)(seq * (double)Stopwatch.Frequency / rate);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }

                BinaryPrimitives.WriteInt32LittleEndian(message, seq);
                BinaryPrimitives.WriteInt64LittleEndian(message.AsSpan(4), Stopwatch.GetTimestamp());
                try
                {
                    await publisher.Socket.SendAsync(message, WebSocketMessageType.Binary, true, CancellationToken.None);
                }
                catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
                {
                    // The server closed or dropped the publisher (e.g. its inbound queue overflowed at
                    // a rate past capacity): the step failed, which is a result, not a crash.
                    publisherLost = ex;
                    return;
                }

                Volatile.Write(ref published, seq + 1);
            }
        }
    }

    internal sealed class Receiver : IAsyncDisposable
    {
        private readonly bool[] _seen;
        private readonly Task _loop;
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _last = -1;

        private readonly int _bufferSize;

        private Receiver(ClientWebSocket socket, int expected, int bufferSize)
        {
            _bufferSize = bufferSize;
            Socket = socket;
            _seen = new bool[expected];
            _loop = Loop();
        }

        public ClientWebSocket Socket { get; }

        public List<double> LatenciesMs { get; } = [];

        public int Distinct { get; private set; }

        public int Duplicates { get; private set; }

        public int Reordered { get; private set; }

        /// <summary>The close code, when the server closed this subscriber (e.g. 1013 for a full send queue).</summary>
        public WebSocketCloseStatus? ServerClose { get; private set; }

        /// <summary>Connects a subscriber expecting sequence numbers 0..expected-1; small buffers suit crowds of idle sockets.</summary>
        public static async Task<Receiver> Connect(Uri uri, int expected, int bufferSize = 64 * 1024)
        {
            var socket = new ClientWebSocket();
            if (bufferSize < 16 * 1024)
            {
                socket.Options.SetBuffer(bufferSize, bufferSize);
            }

            await socket.ConnectAsync(uri, CancellationToken.None);
            return new Receiver(socket, expected, bufferSize);
        }

        public async Task WaitForAll(CancellationToken token)
        {
            try
            {
                await _all.Task.WaitAsync(token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task Loop()
        {
            var buffer = new byte[_bufferSize];
            try
            {
                while (true)
                {
                    var result = await Socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        ServerClose = Socket.CloseStatus;
                        return;
                    }

                    var now = Stopwatch.GetTimestamp();
                    var seq = BinaryPrimitives.ReadInt32LittleEndian(buffer);
                    var sent = BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(4));
                    if (seq < 0 || seq >= _seen.Length)
                    {
                        continue;
                    }

                    if (_seen[seq])
                    {
                        Duplicates++;
                        continue;
                    }

                    _seen[seq] = true;
                    Distinct++;
                    if (seq < _last)
                    {
                        Reordered++;
                    }

                    _last = Math.Max(_last, seq);
                    LatenciesMs.Add(Stopwatch.GetElapsedTime(sent, now).TotalMilliseconds);
                    if (Distinct == _seen.Length)
                    {
                        _all.TrySetResult();
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }

            Socket.Dispose();
            await _loop.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { });
        }
    }
}
