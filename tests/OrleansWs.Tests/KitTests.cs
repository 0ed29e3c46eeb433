using OrleansWs.Gateway.Hosting;
using OrleansWs.Internal;
using OrleansWs.Silo.Demo;
using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

/// <summary>What the test kit tells a test about its peers and grains.</summary>
public sealed class KitTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private readonly WebSocketTestApp _app = fixture.App;

    [Fact]
    public async Task A_client_knows_its_peer_id_and_is_listed_once_connect_returns()
    {
        for (var i = 0; i < 20; i++)
        {
            await using var client = await _app.Connect("/ws/rec", gateway: i % 2);
            Assert.NotNull(client.PeerId);
            // At once, no polling: the gateway lists the peer before its 101 leaves.
            Assert.Contains(client.PeerId, await _app.GetOpenPeers("/ws/rec"));
            Assert.Equal("welcome " + client.PeerId, await client.ReceiveText());
        }
    }

    [Fact]
    public async Task Grains_other_than_peers_can_be_found_and_deactivated_by_grain_id()
    {
        var registry = _app.Cluster.Client.GetGrain<IGatewayRegistryGrain>(0).GetGrainId();
        Assert.True(_app.IsActive(registry));
        Assert.NotNull(_app.SiloOf(registry));

        await using var client = await _app.Connect("/ws/rec");
        await client.ReceiveText();
        var peer = PeerIds.ToGrainId(client.PeerId!);
        Assert.True(_app.IsActive(peer));
        await _app.Deactivate(peer);
        Assert.False(_app.IsActive(peer));
        await client.SendText("items");
        Assert.Equal("items:", await client.ReceiveText());
    }

    [Fact]
    public async Task ReceiveJson_fails_on_the_wrong_shape_with_what_came()
    {
        await using var client = await _app.Connect("/ws/rec");
        await client.ReceiveText();
        await client.SendText("info");
        Assert.Equal(client.PeerId, (await client.ReceiveJson<PeerInfo>()).Id);

        await client.SendText("""{"name":"not a peer"}""");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => client.ReceiveJson<PeerInfo>());
        Assert.Contains("not a peer", error.Message);
    }

    [Fact]
    public async Task A_hooks_exception_is_in_the_failure_message_of_the_await_that_sees_its_close()
    {
        await using var client = await _app.Connect("/ws/rec");
        await client.ReceiveText();
        await client.SendText("throw");
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => client.ExpectClose(CloseCodes.Normal));
        Assert.Contains("1011", failure.Message);
        Assert.Contains("HookFailed", failure.Message);
        Assert.Contains("InvalidOperationException: boom", failure.Message);
    }

    [Fact]
    public async Task Probe_says_so_when_the_upgrade_is_accepted()
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => _app.Probe("/ws/rec"));
        Assert.Contains("was accepted (101", refused.Message);
    }

    [Fact]
    public async Task A_handler_that_calls_another_grain_shares_it_across_gateways()
    {
        var room = WebSocketTestApp.UniqueName("room");
        await using var ann = await _app.Connect($"/ws/counter?room={room}", gateway: 0);
        Assert.Equal("value 0", await ann.ReceiveText());
        await using var bob = await _app.Connect($"/ws/counter?room={room}", gateway: 1);
        Assert.Equal("value 0", await bob.ReceiveText());

        await ann.SendText("inc");
        Assert.Equal("value 1", await ann.ReceiveText());
        Assert.Equal("value 1", await bob.ReceiveText());
        await bob.SendText("inc");
        Assert.Equal("value 2", await bob.ReceiveText());
        Assert.Equal("value 2", await ann.ReceiveText());

        var counter = _app.Cluster.Client.GetGrain<ICounterGrain>(room).GetGrainId();
        Assert.NotNull(_app.SiloOf(counter));
    }
}

/// <summary>A room grain whose storage the app forgot to register.</summary>
public sealed class MissingStorageTests
{
    [Fact]
    public async Task A_hook_whose_grain_has_no_storage_closes_with_1011_and_the_failure_names_the_storage()
    {
        await using var app = await WebSocketTestApp.StartAsync(o =>
            o.MapEndpoints = e => e.MapWebSocketHandler<CounterHandler>("/ws/counter"));  // no AddOrleansWsStorage("rooms")
        await using var client = await app.Connect("/ws/counter?room=r");

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => client.ReceiveText());
        Assert.Contains("close 1011 'handler error'", failure.Message);
        Assert.Contains($"No storage provider named \"{CounterGrain.Storage}\"", failure.Message);
    }
}
