using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;

namespace OrleansWs.Bench.Chaos;

/// <summary>One connection as its client saw it: the 101, the peer id its welcome named, what arrived, how it ended.</summary>
internal sealed class Connection(string kind, string? room)
{
    public string Kind { get; } = kind;

    public string? Room { get; } = room;

    public DateTime? Upgraded { get; set; }

    public string? PeerId { get; set; }

    public DateTime? Ended { get; set; }

    public int? CloseCode { get; set; }

    /// <summary>Room messages by publisher, in arrival order (guarded by itself).</summary>
    public Dictionary<string, List<long>> Received { get; } = [];
}

/// <summary>A publish as its publisher saw it: when it was sent and when its acknowledgement came.</summary>
internal sealed class Publication(string publisher, string room, long seq, DateTime sent)
{
    public string Publisher { get; } = publisher;

    public string Room { get; } = room;

    public long Seq { get; } = seq;

    public DateTime Sent { get; } = sent;

    public DateTime? Acked { get; set; }
}

/// <summary>
/// The chaos run's traffic through the load balancer: rooms with subscribers and a publisher each, echo clients, and
/// churn (short connections). Long-lived clients reconnect, as a new peer, whenever a fault drops them.
/// </summary>
internal sealed class ChaosLoad(Uri endpoint, int rooms, int subscribers, int echoes, int seed)
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _clients = [];
    private readonly ConcurrentBag<Task> _churned = [];
    private int _echoErrors;

    public ConcurrentBag<Connection> Connections { get; } = [];

    public ConcurrentBag<Publication> Publications { get; } = [];

    public int EchoErrors => _echoErrors;

    public string[] RoomNames { get; } = Enumerable.Range(0, rooms).Select(r => $"chaos-{seed}-{r}").ToArray();

    /// <summary>Starts the clients one every 100 ms, so a cluster that just started warms up under a growing load.</summary>
    public async Task Start()
    {
        var starts = new List<Func<Task>>();
        foreach (var room in RoomNames)
        {
            starts.AddRange(Enumerable.Repeat<Func<Task>>(() => KeepConnected("sub", room, null), subscribers));
            starts.Add(() => KeepConnected("pub", room, PublishEvery(TimeSpan.FromMilliseconds(100))));
        }

        starts.AddRange(Enumerable.Repeat<Func<Task>>(() => KeepConnected("echo", null, EchoEvery(TimeSpan.FromMilliseconds(200))), echoes));
        starts.Add(Churn);
        foreach (var start in starts)
        {
            _clients.Add(Task.Run(start));
            await Task.Delay(100);
        }
    }

    /// <summary>Ends the traffic: every open client closes with 1000 and waits for the server's close.</summary>
    public async Task Stop()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients);
        await Task.WhenAll(_churned);
    }

    /// <summary>Opens a connection, reads its welcome and has one message echoed: whether a new client is served now.</summary>
    public async Task<bool> Probe() => await ShortConnection("probe", TimeSpan.Zero, TimeSpan.FromSeconds(5)) == true;

    // A short connection: its welcome, one echo, a hold, a clean close. Whether the echo came back right; null when the
    // server closed it first (a gateway stopping or fenced: no echo was owed), or it failed.
    private async Task<bool?> ShortConnection(string kind, TimeSpan hold, TimeSpan limit)
    {
        var connection = new Connection(kind, null);
        Connections.Add(connection);
        try
        {
            using var ws = await Open(connection, limit);
            using var bound = new CancellationTokenSource(limit);
            await Send(ws, "e1", bound.Token);
            if (await ReceiveText(ws, bound.Token) is not { } echo)
            {
                connection.CloseCode = (int?)ws.CloseStatus;
                connection.Ended = DateTime.UtcNow;
                return null;
            }

            await Task.Delay(hold);
            await CloseAndDrain(connection, ws);
            return echo == "e1";
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            connection.Ended ??= DateTime.UtcNow;
            return null;
        }
    }

    private delegate Task Sender(Connection connection, ClientWebSocket ws, SemaphoreSlim sending, CancellationToken stop);

    private async Task KeepConnected(string kind, string? room, Sender? sender)
    {
        while (!_stop.IsCancellationRequested)
        {
            var connection = new Connection(kind, room);
            Connections.Add(connection);
            try
            {
                using var ws = await Open(connection, TimeSpan.FromSeconds(10));
                using var sending = new SemaphoreSlim(1);
                using var ended = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var sends = sender is null ? Task.CompletedTask : Task.Run(() => sender(connection, ws, sending, ended.Token));
                var closing = CloseOnStop(connection, ws, sending, ended.Token);
                await ReceiveAll(connection, ws);
                await ended.CancelAsync();
                await sends;
                await closing;
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
            {
                connection.Ended ??= DateTime.UtcNow;
            }

            await Delay(TimeSpan.FromMilliseconds(250));
        }
    }

    // Waits for the end of the run, or of the connection (a fault), whichever comes first; only the first closes.
    private async Task CloseOnStop(Connection connection, ClientWebSocket ws, SemaphoreSlim sending, CancellationToken ended)
    {
        await Wait(Timeout.InfiniteTimeSpan, ended);
        if (connection.Ended is not null || !_stop.IsCancellationRequested)
        {
            return;
        }

        try
        {
            await sending.WaitAsync();
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", limit.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            ws.Abort();
        }
    }

    private Sender PublishEvery(TimeSpan period) => async (connection, ws, sending, stop) =>
    {
        var seq = 0L;
        while (!stop.IsCancellationRequested && await Wait(period, stop))
        {
            var publication = new Publication(connection.PeerId!, connection.Room!, ++seq, DateTime.UtcNow);
            Publications.Add(publication);
            Acks[(connection.PeerId!, seq)] = publication;

            if (!await SendGuarded(ws, sending, "p:" + seq, stop))
            {
                return;
            }
        }
    };

    // Acknowledgements by (publisher, seq), set by the publisher's receive loop.
    private ConcurrentDictionary<(string, long), Publication> Acks { get; } = new();

    private Sender EchoEvery(TimeSpan period) => async (_, ws, sending, stop) =>
    {
        var n = 0;
        while (!stop.IsCancellationRequested && await Wait(period, stop))
        {
            if (!await SendGuarded(ws, sending, "e" + ++n, stop))
            {
                return;
            }
        }
    };

    private async Task Churn()
    {
        var random = new Random(seed);
        while (!_stop.IsCancellationRequested)
        {
            var hold = TimeSpan.FromMilliseconds(random.Next(200, 2000));
            _churned.Add(Task.Run(async () =>
            {
                if (await ShortConnection("churn", hold, TimeSpan.FromSeconds(10)) == false)
                {
                    Interlocked.Increment(ref _echoErrors);
                }
            }));
            await Delay(TimeSpan.FromMilliseconds(250));
        }
    }

    private async Task<ClientWebSocket> Open(Connection connection, TimeSpan limit)
    {
        var ws = new ClientWebSocket();
        try
        {
            using var timeout = new CancellationTokenSource(limit);
            var query = connection.Room is null ? "" : "?room=" + Uri.EscapeDataString(connection.Room);
            await ws.ConnectAsync(new Uri(endpoint + query), timeout.Token);
            connection.Upgraded = DateTime.UtcNow;
            var welcome = await ReceiveText(ws, timeout.Token);
            connection.PeerId = welcome?.StartsWith("welcome ", StringComparison.Ordinal) == true
                ? welcome["welcome ".Length..]
                : throw new WebSocketException($"Expected a welcome, got '{welcome}'.");
            return ws;
        }
        catch
        {
            connection.Ended ??= DateTime.UtcNow;
            ws.Dispose();
            throw;
        }
    }

    private async Task ReceiveAll(Connection connection, ClientWebSocket ws)
    {
        var expectedEcho = 1;
        try
        {
            while (true)
            {
                var text = await ReceiveText(ws, CancellationToken.None);
                if (text is null)
                {
                    connection.CloseCode = (int?)ws.CloseStatus;
                    break;
                }

                if (text.StartsWith("m:", StringComparison.Ordinal))
                {
                    var at = text.LastIndexOf(':');
                    var publisher = text[2..at];
                    lock (connection.Received)
                    {
                        (connection.Received.TryGetValue(publisher, out var seqs) ? seqs : connection.Received[publisher] = []).Add(long.Parse(text[(at + 1)..]));
                    }
                }
                else if (text.StartsWith("a:", StringComparison.Ordinal))
                {
                    if (Acks.TryRemove((connection.PeerId!, long.Parse(text[2..])), out var publication))
                    {
                        publication.Acked = DateTime.UtcNow;
                    }
                }
                else if (text.StartsWith('e') && text != "e" + expectedEcho++)
                {
                    Interlocked.Increment(ref _echoErrors);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException)
        {
            connection.CloseCode = 1006;
        }
        finally
        {
            connection.Ended = DateTime.UtcNow;
        }
    }

    private static async Task CloseAndDrain(Connection connection, ClientWebSocket ws)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", limit.Token);
        connection.CloseCode = (int?)ws.CloseStatus;
        connection.Ended = DateTime.UtcNow;
    }

    private static async Task<bool> SendGuarded(ClientWebSocket ws, SemaphoreSlim sending, string text, CancellationToken stop)
    {
        try
        {
            await sending.WaitAsync(stop);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await Send(ws, text, limit.Token);
            return true;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            sending.Release();
        }
    }

    private static Task Send(ClientWebSocket ws, string text, CancellationToken token) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, token);

    // Null once the server closed; a cancellation aborts the socket (ClientWebSocket's rule), so only bounded waits pass one.
    private static async Task<string?> ReceiveText(ClientWebSocket ws, CancellationToken token)
    {
        var buffer = new byte[4096];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await ws.ReceiveAsync(buffer, token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
            }
        }
    }

    private async Task Delay(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<bool> Wait(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
