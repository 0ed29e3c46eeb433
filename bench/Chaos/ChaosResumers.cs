using System.Net.WebSockets;
using OrleansWs.Client;

namespace OrleansWs.Bench.Chaos;

/// <summary>One resuming client as it saw the run: what it sent, what came back and how its reconnects went.</summary>
internal sealed class Resumer
{
    public int Sent;

    public int Received;

    /// <summary>Echoes that were not the next one expected (a loss, a repeat or a reorder), with the first few named.</summary>
    public int Wrong;

    public List<string> FirstWrong { get; } = [];

    public int Resumed;

    public int Unrecovered;

    public int? GaveUp;

    public string? PeerId;
}

/// <summary>
/// Clients of <c>/ws/echo</c> with resume on (OrleansWs.Client) through the load balancer for the whole run: each sends a
/// numbered message every 200 ms and must get every echo back once and in order, whatever gateway or silo dies, with
/// every resume <c>recovered</c>. Faults drop them; they never reconnect as a new peer.
/// </summary>
internal sealed class ChaosResumers(Uri endpoint, int count)
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _clients = [];

    public List<Resumer> Clients { get; } = [];

    public async Task Start()
    {
        for (var i = 0; i < count; i++)
        {
            var resumer = new Resumer();
            Clients.Add(resumer);
            var socket = await ResumableWebSocket.ConnectAsync(endpoint, new ResumableWebSocketOptions
            {
                InitialBackoff = TimeSpan.FromMilliseconds(100),
                MaxBackoff = TimeSpan.FromSeconds(2),
            });
            resumer.PeerId = socket.PeerId;
            socket.Resumed += (_, e) =>
            {
                Interlocked.Increment(ref resumer.Resumed);
                if (!e.Recovered)
                {
                    Interlocked.Increment(ref resumer.Unrecovered);
                }
            };
            socket.Closed += (_, e) =>
            {
                if (!_stop.IsCancellationRequested)
                {
                    resumer.GaveUp = e.CloseStatus ?? 1006;
                }
            };
            _clients.Add(Task.Run(() => Run(resumer, socket)));
        }
    }

    /// <summary>Stops sending, waits (bounded) for the echoes still owed, then closes each client with 1000.</summary>
    public async Task Stop()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients);
    }

    private async Task Run(Resumer resumer, ResumableWebSocket socket)
    {
        var receiving = Task.Run(async () =>
        {
            await foreach (var message in socket.ReadAllAsync())
            {
                var expected = "r" + (resumer.Received + 1);
                if (message.Text() == expected)
                {
                    resumer.Received++;
                }
                else if (resumer.Wrong++ < 3)
                {
                    resumer.FirstWrong.Add($"{message.Text()} where {expected} was due");
                }
            }
        });
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await socket.SendAsync("r" + (resumer.Sent + 1));
                resumer.Sent++;
            }
            catch (ObjectDisposedException)
            {
                // The client ended (it gave up reconnecting): the check reports it.
                break;
            }
            catch (InvalidOperationException)
            {
                // The send buffer is full (a long outage): the message was not taken, so it is not owed.
            }

            try
            {
                await Task.Delay(200, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Volatile.Read(ref resumer.Received) < resumer.Sent && resumer.GaveUp is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done");
        await receiving;
    }
}
