using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests.Resume;

/// <summary>Resume across gateway faults, each test with an app of its own (it stops or kills a gateway).</summary>
public sealed class ResumeFailoverTests : IAsyncLifetime
{
    private WebSocketTestApp _app = null!;

    public async Task InitializeAsync() => _app = await ResumeFixture.Start();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task A_client_whose_gateway_dies_resumes_through_the_other_and_sees_every_message_once_in_order()
    {
        await using var receiver = await _app.ConnectResumable("/ws/resume", gateway: 0);
        await using var sender = await _app.ConnectResumable("/ws/resume", gateway: 1);
        var received = Channel(receiver);
        Assert.StartsWith("open ", (await received.ReadAsync()).Text());
        var resumed = new TaskCompletionSource<ResumedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.Resumed += (_, e) => resumed.TrySetResult(new(e.Recovered, e.PeerId));
        var peerId = receiver.PeerId!;

        const int Count = 60;
        for (var i = 1; i <= Count; i++)
        {
            await sender.SendAsync($"to:{peerId}:m{i}");
            // The receiver's own messages go on too, buffered while it reconnects.
            await receiver.SendAsync($"n:{i}");
            if (i == Count / 3)
            {
                await _app.KillGatewayAsync(0);
            }
        }

        var fromSender = new List<string>();
        var counts = new List<string>();
        while (fromSender.Count < Count || counts.Count < Count)
        {
            string text;
            try
            {
                text = (await received.ReadAsync().AsTask().WaitAsync(_app.Timeout * 3)).Text();
            }
            catch (TimeoutException)
            {
                throw new Xunit.Sdk.XunitException($"got {fromSender.Count} sends ({string.Join(",", fromSender.TakeLast(3))}), {counts.Count} counts ({string.Join(",", counts.TakeLast(3))}); resumed {resumed.Task.IsCompleted}\n"
                    + string.Join("\n", _app.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Information && e.Category.StartsWith("OrleansWs")).Select(e => e.ToString()).TakeLast(40)));
            }

            (text.StartsWith('m') ? fromSender : counts).Add(text);
        }

        Assert.Equal(Enumerable.Range(1, Count).Select(i => $"m{i}"), fromSender);
        Assert.Equal(Enumerable.Range(1, Count).Select(i => $"n:{i}:{i}"), counts);
        Assert.Equal(new ResumedEvent(true, peerId), await resumed.Task.WaitAsync(_app.Timeout));
    }

    // The resumed connections join the topic on the other gateway while it keeps delivering publishes: each publish is
    // shown once, from the history or live, however the two paths meet.
    [Fact]
    public async Task Subscribers_whose_gateway_dies_resume_without_missing_a_publish_at_the_seam()
    {
        const int Subscribers = 8, Count = 60;
        var topic = "seam-" + Guid.NewGuid().ToString("N")[..8];
        var receivers = new List<(Client.ResumableWebSocket Socket, System.Threading.Channels.ChannelReader<Client.ReceivedMessage> Received)>();
        for (var i = 0; i < Subscribers; i++)
        {
            var socket = await _app.ConnectResumable("/ws/resume", gateway: 0);
            var received = Channel(socket);
            Assert.StartsWith("open ", (await received.ReadAsync()).Text());
            await socket.SendAsync("sub:" + topic);
            Assert.Equal("subscribed " + topic, (await received.ReadAsync()).Text());
            receivers.Add((socket, received));
        }

        await using var publisher = await _app.ConnectResumable("/ws/resume", gateway: 1);
        for (var k = 1; k <= Count; k++)
        {
            await publisher.SendAsync($"pub:{topic}:{k}");
            await Task.Delay(10);
            if (k == Count / 4)
            {
                await _app.KillGatewayAsync(0);
            }
        }

        foreach (var (socket, received) in receivers)
        {
            var shown = new List<string>();
            while (shown.Count < Count)
            {
                try
                {
                    shown.Add((await received.ReadAsync().AsTask().WaitAsync(_app.Timeout * 3)).Text());
                }
                catch (TimeoutException)
                {
                    throw new Xunit.Sdk.XunitException($"receiver {receivers.FindIndex(r => r.Socket == socket)} was shown {string.Join(",", shown)}\n"
                        + string.Join("\n", _app.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Information && e.Category.StartsWith("OrleansWs")).Select(e => e.ToString()).TakeLast(30)));
                }
            }

            Assert.Equal(Enumerable.Range(1, Count).Select(k => k.ToString()), shown);
            await socket.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_gateway_that_stops_sends_1012_and_its_peers_resume_elsewhere()
    {
        await using var wire = await ResumeWire.Connect(new Uri(_app.Gateways[0].WebSocketAddress, "/ws/resume"));
        var seen = (await wire.ReceiveData()).Header.GetProperty("s").GetInt64();
        var stopping = _app.StopGatewayAsync(0);
        Assert.Equal(CloseCodes.ServiceRestart, await wire.ReceiveClose());
        await stopping;
        Assert.Equal(CloseCodes.ServiceRestart, ((CloseDetails)(await HookLog.WaitFor(wire.PeerId, "detach")).Argument!).Code);
        await using var resumed = await ResumeWire.Connect(new Uri(_app.Gateways[1].WebSocketAddress, "/ws/resume"), wire.Token, seen);
        Assert.True(resumed.Recovered);
        await resumed.Send(1, "n:after");
        Assert.Equal("n:after:1", (await resumed.ReceiveData()).Payload);
    }

    private static System.Threading.Channels.ChannelReader<Client.ReceivedMessage> Channel(Client.ResumableWebSocket socket)
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<Client.ReceivedMessage>();
        _ = Task.Run(async () =>
        {
            await foreach (var message in socket.ReadAllAsync())
            {
                channel.Writer.TryWrite(message);
            }

            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }

    private sealed record ResumedEvent(bool Recovered, string PeerId);
}
