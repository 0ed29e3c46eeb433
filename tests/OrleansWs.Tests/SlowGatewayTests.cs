using OrleansWs.Testing;
using OrleansWs.Tests.Topics;

namespace OrleansWs.Tests;

/// <summary>One gateway stops queuing a room's publishes: the room goes on without it, and its members of the room reconnect.</summary>
public sealed class SlowGatewayTests : IAsyncLifetime
{
    // Only the held gateway may reach it: a bound a busy machine can exceed fences healthy gateways too (a 300 ms one
    // fenced a gateway during the joins when the whole suite ran on two cores). The held phase waits this long.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly Fixture _fixture = new();
    private WebSocketTestApp _app = null!;
    private HeldTopicSubscriber _held = null!;

    private sealed class Fixture : AppFixture
    {
        protected override void Configure(WebSocketTestAppOptions options) =>
            options.ConfigureSiloOptions = o => o.PublishQueuedTimeout = Bound;
    }

    public async Task InitializeAsync()
    {
        await _fixture.InitializeAsync();
        _app = _fixture.App;
        await _app.StartGatewayAsync(configureBuilder: HeldTopicSubscriber.Install(held => _held = held));
    }

    public Task DisposeAsync()
    {
        _held.Release();
        return _fixture.DisposeAsync();
    }

    [Fact]
    public async Task A_gateway_that_does_not_queue_a_publish_within_the_bound_is_fenced_and_the_room_goes_on()
    {
        var mark = _app.Logs.Mark();
        var room = WebSocketTestApp.UniqueName("room");
        var stuck = await Join(room, gateway: 2);
        var healthy = await Join(room, gateway: 0);
        var publisher = await Join(room, gateway: 1);
        Assert.EndsWith(" joined!", await stuck.ReceiveText());
        Assert.EndsWith(" joined!", await stuck.ReceiveText());
        Assert.EndsWith(" joined!", await healthy.ReceiveText());

        _held.Hold();
        await publisher.SendText("pub:while stuck");
        // The healthy gateway queued it; the stuck one held the reply up for the bound, then was fenced.
        Assert.Equal("while stuck", await healthy.ReceiveText());
        Assert.Equal("published", await publisher.ReceiveText());
        var closed = await stuck.ExpectClose(1013);
        Assert.Equal("topic delivery interrupted; reconnect", closed.Reason);
        Assert.Contains(_app.Logs.Entries, e => e.Sequence > mark && e.EventName == "PublishFenced");

        // Without it in the room, publishes wait for nobody who is not there.
        _held.Release();
        await publisher.SendText("pub:after");
        Assert.Equal("after", await healthy.ReceiveText());
        Assert.Equal("published", await publisher.ReceiveText());
        _app.Logs.AssertNoErrorsSince(mark);

        // Its peers reconnect to it, and hear the room again.
        var back = await Join(room, gateway: 2);
        await publisher.SendText("pub:welcome back");
        Assert.Equal("welcome back", await back.ReceiveText());
    }

    private async Task<TestClient> Join(string room, int gateway)
    {
        var client = await _app.Connect($"/ws/causal?room={room}", gateway);
        Assert.StartsWith("welcome ", await client.ReceiveText());
        return client;
    }
}
