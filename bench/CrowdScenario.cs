using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.WebSockets;

namespace OrleansWs.Bench;

/// <summary>
/// Scale: C idle peers in one room of <c>/ws/chat</c> (spread over the URLs), held until M broadcasts have
/// reached every one of them or a timeout. With <c>--publish M</c> it is instead the one publisher of
/// those broadcasts. One process holds at most ~19,000 sockets here (file limit 20,000), so bench/crowd.sh
/// runs several crowds and a publisher.
/// </summary>
internal static class CrowdScenario
{
    public static async Task<int> Run(Arguments args)
    {
        var urls = args.Get("url", "ws://127.0.0.1:5000").Split(',').Select(u => u.TrimEnd('/')).ToArray();
        var room = args.Get("room", "crowd");
        var messages = args.Get("messages", 10);
        if (args.Get("publish", 0) is > 0 and var publish)
        {
            return await Publish(new Uri($"{urls[0]}/ws/chat?room={room}"), publish);
        }

        var connections = args.Get("connections", 1000);
        var parallel = args.Get("parallel", 64);
        var timeout = TimeSpan.FromSeconds(args.Get("timeout", 120));
        var (receivers, errors, elapsed) = await Dialer.OpenAll("crowd", connections, parallel, i =>
            FanoutScenario.Receiver.Connect(new Uri($"{urls[i % urls.Length]}/ws/chat?room={room}"), messages, bufferSize: 1024));
        var open = receivers.Count(r => r is not null);
        Console.WriteLine($"ready {open} of {connections} in {elapsed.TotalSeconds:F1} s, errors {errors}");

        using var wait = new CancellationTokenSource(timeout);
        await Task.WhenAll(receivers.OfType<FanoutScenario.Receiver>().Select(r => r.WaitForAll(wait.Token)));
        var got = receivers.OfType<FanoutScenario.Receiver>().Sum(r => (long)r.Distinct);
        var lost = (long)open * messages - got;
        var closed = receivers.Count(r => r?.ServerClose is not null);
        var latencies = receivers.OfType<FanoutScenario.Receiver>().SelectMany(r => r.LatenciesMs).Order().ToArray();
        Console.WriteLine($"crowd: {open} peers received {got} of {(long)open * messages} broadcast deliveries; lost {lost}, duplicated {receivers.Sum(r => r?.Duplicates ?? 0)}, closed by the server {closed}");
        Console.WriteLine($"delivery ms: p50 {Stats.Percentile(latencies, 0.5):F1}  p99 {Stats.Percentile(latencies, 0.99):F1}  max {latencies.LastOrDefault():F1}");
        foreach (var r in receivers.OfType<FanoutScenario.Receiver>())
        {
            r.Socket.Abort();
            r.Socket.Dispose();
        }

        return lost == 0 && errors == 0 ? 0 : 1;
    }

    // Broadcasts sequence-numbered messages, one every 200 ms, so each crowd's clock can time delivery.
    private static async Task<int> Publish(Uri room, int count)
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(room, CancellationToken.None);
        var message = new byte[64];
        for (var seq = 0; seq < count; seq++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(message, seq);
            BinaryPrimitives.WriteInt64LittleEndian(message.AsSpan(4), Stopwatch.GetTimestamp());
            await socket.SendAsync(message, WebSocketMessageType.Binary, true, CancellationToken.None);
            await Task.Delay(200);
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        Console.WriteLine($"published {count} broadcasts");
        return 0;
    }
}
