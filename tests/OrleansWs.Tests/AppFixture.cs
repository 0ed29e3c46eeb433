using OrleansWs.Gateway.Hosting;
using OrleansWs.Hosting;
using OrleansWs.Silo.Demo;
using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

/// <summary>
/// One app per test class (xunit runs a class's tests one at a time, classes in parallel): one silo,
/// two gateways, the demo endpoints and the recording handler.
/// </summary>
public class AppFixture : IAsyncLifetime
{
    public WebSocketTestApp App { get; private set; } = null!;

    public const int MaxMessageSize = 64 * 1024;

    protected virtual void Configure(WebSocketTestAppOptions options)
    {
    }

    public async Task InitializeAsync()
    {
        App = await WebSocketTestApp.StartAsync(o =>
        {
            o.Gateways = 2;
            o.MapEndpoints = e =>
            {
                e.MapWebSocketHandler<RecordingHandler>("/ws/rec");
                e.MapWebSocketHandler<EchoHandler>("/ws/echo");
                e.MapWebSocketHandler<ChatHandler>("/ws/chat");
                e.MapWebSocketHandler<CausalHandler>("/ws/causal");
                e.MapWebSocketHandler<RoomHandler>("/ws/room");
                e.MapWebSocketHandler<CounterRoomHandler>("/ws/counter");
            };
            // As src/Silo does: the demo's room counters are stored with peer state (here the kit's shared storage).
            o.ConfigureSilo = silo => silo.AddOrleansWsStorage(CounterGrain.Storage);
            o.ConfigureGatewayOptions = g =>
            {
                g.MaxMessageSize = MaxMessageSize;
                g.CloseTimeout = TimeSpan.FromSeconds(1);
            };
            Configure(o);
        });
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

/// <summary>
/// Two silos, and the shortest grain-call timeout the gateways allow: a call in flight to a killed silo is never
/// answered, and the gateway gives up on it after this.
/// </summary>
public class TwoSilosFixture : AppFixture
{
    protected override void Configure(WebSocketTestAppOptions options)
    {
        options.Silos = 2;
        var gateways = options.ConfigureGatewayOptions;
        options.ConfigureGatewayOptions = g =>
        {
            gateways?.Invoke(g);
            g.GrainCallTimeout = TimeSpan.FromSeconds(17);
        };
    }
}

public static class AppExtensions
{
    /// <summary>Connects to the recording handler and reads its welcome frame, which names the peer.</summary>
    public static async Task<(TestClient Client, string PeerId)> OpenRecording(
        this WebSocketTestApp app, string query = "", int gateway = 0, Action<System.Net.WebSockets.ClientWebSocketOptions>? configure = null)
    {
        var client = await app.Connect("/ws/rec" + (query.Length > 0 ? "?" + query : ""), gateway, configure);
        var welcome = await client.ReceiveText();
        Assert.StartsWith("welcome ", welcome);
        return (client, welcome["welcome ".Length..]);
    }

    public static string NewTag() => Guid.NewGuid().ToString("N");

    /// <summary>
    /// Sends <c>addpub:lost:topic</c> to a recording peer whose state holds only <c>kept</c>, while the topic log cannot
    /// take it: the hook fails before its state is written (its frames still leave as it saw its state), with
    /// <c>OnError(TopicLogUnavailableException)</c> and 1011 <c>topics unavailable</c>, and the close sees the state as
    /// last written.
    /// </summary>
    public static async Task PublishFailsBeforeItsWrite(this TestClient publisher, string peerId, string topic)
    {
        await publisher.SendText($"addpub:lost:{topic}");
        Assert.Equal("items:kept,lost", await publisher.ReceiveText());
        var closed = await publisher.ExpectClose(1011);
        Assert.Equal("topics unavailable", closed.Reason);
        Assert.IsType<TopicLogUnavailableException>((await HookLog.WaitFor(peerId, "error")).Argument);
        Assert.Equal("kept", (await HookLog.WaitFor(peerId + "/state", "close")).Argument);
    }
}
