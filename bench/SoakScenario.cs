using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;

namespace OrleansWs.Bench;

/// <summary>
/// A steady mix held for minutes: paced echo traffic, a chat room with one publisher, and connections
/// opened and closed every second. Every window it prints echo latency, churn, and the servers' memory
/// and CPU; at the end the drift between the first and the last window (a leak or a slowdown shows
/// there) and the room's lost / duplicated / reordered counts.
/// </summary>
internal static class SoakScenario
{
    public static async Task<int> Run(Arguments args)
    {
        var urls = args.Get("url", "ws://127.0.0.1:5000").Split(',').Select(u => u.TrimEnd('/')).ToArray();
        var minutes = Math.Clamp(args.Get("minutes", 3), 1, 60);
        var window = TimeSpan.FromSeconds(Math.Clamp(args.Get("window", 30), 5, 600));
        var echoConnections = args.Get("echo", 20);
        var echoRate = Math.Max(1, args.Get("echo-rate", 50));
        var subscribers = args.Get("subscribers", 20);
        var roomRate = Math.Max(1, args.Get("room-rate", 20));
        var churn = args.Get("churn", 10);
        var processes = ProcessSampler.FromArgument(args.Get("pid", ""));
        var duration = TimeSpan.FromMinutes(minutes);

        var room = "soak-" + Guid.NewGuid().ToString("N")[..8];
        var roomTotal = (int)(roomRate * duration.TotalSeconds);
        var receivers = new List<FanoutScenario.Receiver>();
        for (var i = 0; i < subscribers; i++)
        {
            receivers.Add(await FanoutScenario.Receiver.Connect(new Uri($"{urls[i % urls.Length]}/ws/chat?room={room}"), roomTotal));
        }

        var publisher = await FanoutScenario.Receiver.Connect(new Uri($"{urls[0]}/ws/chat?room={room}"), roomTotal);
        var echo = new List<ClientWebSocket>();
        for (var i = 0; i < echoConnections; i++)
        {
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri($"{urls[i % urls.Length]}/ws/echo"), CancellationToken.None);
            echo.Add(socket);
        }

        using var stop = new CancellationTokenSource(duration);
        var latencies = new ConcurrentQueue<double>();
        var errors = 0L;
        var churned = 0L;
        var published = 0;
        var work = new List<Task>();
        work.AddRange(echo.Select(s => Paced(echoRate, stop.Token, _ => EchoOnce(s, latencies), () => Interlocked.Increment(ref errors))));
        work.Add(Paced(roomRate, stop.Token, async seq =>
        {
            if (seq < roomTotal)
            {
                await Publish(publisher.Socket, seq);
                Volatile.Write(ref published, seq + 1);
            }
        }, () => Interlocked.Increment(ref errors)));
        work.Add(Paced(churn, stop.Token, async _ =>
        {
            using var socket = new ClientWebSocket();
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(new Uri($"{urls[Random.Shared.Next(urls.Length)]}/ws/echo"), limit.Token);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "churn", limit.Token);
            Interlocked.Increment(ref churned);
        }, () => Interlocked.Increment(ref errors)));

        var windows = new List<(double P50, double P99, long Echoes, double RssMiB, double CpuPercent)>();
        var all = Task.WhenAll(work);
        Console.WriteLine($"soak: {minutes} min in {window.TotalSeconds:F0} s windows; echo {echoConnections} × {echoRate}/s, room {subscribers} subscribers × {roomRate}/s, churn {churn}/s over {urls.Length} URL(s)");
        Console.WriteLine("| window | echoes | p50 ms | p99 ms | churned | errors | server RSS MiB | server CPU % |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        var sample = processes.Sample();
        await LiveProgress.Show("soak", () => $"window {windows.Count + 1} of {Math.Ceiling(duration / window)}, {Volatile.Read(ref churned):N0} churned, {Volatile.Read(ref errors)} errors", Windows());

        await all;
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await Task.WhenAll(receivers.Select(r => r.WaitForAll(grace.Token)));
        var lost = receivers.Sum(r => (long)published - r.Distinct);
        var duplicated = receivers.Sum(r => (long)r.Duplicates);
        var reordered = receivers.Sum(r => (long)r.Reordered);
        var (first, last) = (windows[0], windows[^1]);
        Console.WriteLine();
        Console.WriteLine($"drift first→last window: RSS {first.RssMiB:F0} → {last.RssMiB:F0} MiB ({last.RssMiB - first.RssMiB:+0;-0} MiB), p99 {first.P99:F2} → {last.P99:F2} ms, CPU {first.CpuPercent:F0} → {last.CpuPercent:F0} %");
        Console.WriteLine($"room: {published} published, lost {lost}, duplicated {duplicated}, reordered {reordered}, sender got its own: {publisher.Distinct > 0}; errors {errors}");
        Report.Json(args, "soak", new()
        {
            ["rss_first_mib"] = first.RssMiB,
            ["rss_last_mib"] = last.RssMiB,
            ["p99_first_ms"] = first.P99,
            ["p99_last_ms"] = last.P99,
            ["lost"] = lost,
            ["errors"] = errors,
        });

        foreach (var r in receivers.Append(publisher))
        {
            await r.DisposeAsync();
        }

        foreach (var socket in echo)
        {
            socket.Abort();
            socket.Dispose();
        }

        return lost == 0 && duplicated == 0 && reordered == 0 && errors == 0 ? 0 : 1;

        async Task Windows()
        {
            while (!all.IsCompleted)
            {
                await Task.WhenAny(all, Task.Delay(window));
                var now = processes.Sample();
                var taken = new List<double>();
                while (latencies.TryDequeue(out var ms))
                {
                    taken.Add(ms);
                }

                var sorted = taken.Order().ToArray();
                var rss = now.Where(p => p.Pid != Environment.ProcessId).Sum(p => p.RssBytes) / 1048576.0;
                var cpu = ProcessSampler.ServerCpuSeconds(sample, now) / window.TotalSeconds * 100;
                sample = now;
                windows.Add((Stats.Percentile(sorted, 0.5), Stats.Percentile(sorted, 0.99), sorted.Length, rss, cpu));
                Console.WriteLine($"| {windows.Count} | {sorted.Length:N0} | {Stats.Percentile(sorted, 0.5):F2} | {Stats.Percentile(sorted, 0.99):F2} | {Volatile.Read(ref churned):N0} | {Volatile.Read(ref errors)} | {rss:F0} | {cpu:F0} |");
            }
        }
    }

    // Runs action rate times a second until stop, paced by the clock; failures are counted, not fatal.
    private static async Task Paced(int rate, CancellationToken stop, Func<int, Task> action, Action failed)
    {
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), started + (long)(i * (double)Stopwatch.Frequency / rate));
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            try
            {
                await action(i);
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException)
            {
                failed();
            }
        }
    }

    private static async Task EchoOnce(ClientWebSocket socket, ConcurrentQueue<double> latencies)
    {
        var buffer = new byte[64];
        BinaryPrimitives.WriteInt64LittleEndian(buffer, Stopwatch.GetTimestamp());
        await socket.SendAsync(buffer, WebSocketMessageType.Binary, true, CancellationToken.None);
        var received = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
        if (received.MessageType != WebSocketMessageType.Close)
        {
            latencies.Enqueue(Stopwatch.GetElapsedTime(BinaryPrimitives.ReadInt64LittleEndian(buffer)).TotalMilliseconds);
        }
    }

    private static async Task Publish(ClientWebSocket socket, int seq)
    {
        var message = new byte[64];
        BinaryPrimitives.WriteInt32LittleEndian(message, seq);
        BinaryPrimitives.WriteInt64LittleEndian(message.AsSpan(4), Stopwatch.GetTimestamp());
        await socket.SendAsync(message, WebSocketMessageType.Binary, true, CancellationToken.None);
    }
}
