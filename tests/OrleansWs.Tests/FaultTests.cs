using Microsoft.Extensions.DependencyInjection;
using OrleansWs.Gateway;
using OrleansWs.Silo.Demo;
using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

/// <summary>Two silos and two gateways, and the kit's fault injection.</summary>
public sealed class FaultTests : IAsyncLifetime
{
    private AppFixture _fixture = new TwoSilos();
    private WebSocketTestApp _app = null!;

    // The lease of the gateway a test kills to watch its lease run out. The gateways that live on keep
    // the default lease, so a renewal delayed by a busy machine never expires them mid-test.
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(1);

    private sealed class TwoSilos : AppFixture
    {
        protected override void Configure(WebSocketTestAppOptions options) => options.Silos = 2;
    }

    public async Task InitializeAsync()
    {
        await _fixture.InitializeAsync();
        _app = _fixture.App;
    }

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task Killing_a_silo_loses_no_written_state_and_topics_resume()
    {
        var room = WebSocketTestApp.UniqueName("room");
        var peers = new List<(TestClient Client, string Id)>();
        for (var i = 0; i < 6; i++)
        {
            var (client, id) = await _app.OpenRecording($"subscribe={room}", gateway: i % 2);
            await client.SendText("add:" + i);
            Assert.Equal("items:" + i, await client.ReceiveText());
            peers.Add((client, id));
        }

        // Kill the silo hosting the first peer's grain; with six peers over two silos both are in use.
        var victim = _app.SiloOf(peers[0].Id)!;
        var lost = peers.Where(p => _app.SiloOf(p.Id) == victim).ToList();
        await _app.KillSiloAsync(victim);
        await _app.WaitForClusterToSettle(afterKill: true);
        Assert.Single(_app.Silos);

        // Sockets stayed open; every grain, moved or not, still has its state.
        for (var i = 0; i < peers.Count; i++)
        {
            await peers[i].Client.SendText("items");
            Assert.Equal("items:" + i, await peers[i].Client.ReceiveText());
        }

        Assert.NotEmpty(lost);
        await peers[0].Client.SendText($"pub:{room}:after the kill");
        Assert.Equal("published", await peers[0].Client.ReceiveText());
        foreach (var (client, _) in peers.Skip(1))
        {
            Assert.Equal("after the kill", await client.ReceiveText());
        }
    }

    [Fact]
    public async Task A_room_grain_keeps_its_value_through_the_loss_of_the_silo_that_held_it()
    {
        // The counter's storage is added with silo.AddOrleansWsStorage, as src/Silo does: here it is the kit's
        // shared storage, which outlives a silo as Redis or PostgreSQL would.
        var room = WebSocketTestApp.UniqueName("room");
        await using var ann = await _app.Connect($"/ws/counter?room={room}", gateway: 0);
        Assert.Equal("value 0", await ann.ReceiveText());
        for (var i = 1; i <= 3; i++)
        {
            await ann.SendText("inc");
            Assert.Equal($"value {i}", await ann.ReceiveText());
        }

        var counter = _app.Cluster.Client.GetGrain<ICounterGrain>(room).GetGrainId();
        await _app.KillSiloAsync(_app.SiloOf(counter)!);
        await _app.WaitForClusterToSettle(afterKill: true);
        await ann.SendText("inc");
        Assert.Equal("value 4", await ann.ReceiveText());
    }

    [Fact]
    public async Task Listings_are_whole_once_the_cluster_has_settled_after_the_silo_holding_the_gateway_list_dies()
    {
        var mark = _app.Logs.Mark();
        var room = WebSocketTestApp.UniqueName("room");
        var clients = new List<TestClient>();
        for (var i = 0; i < 6; i++)
        {
            clients.Add(await _app.Connect($"/ws/chat?room={room}", gateway: i % 2));
        }

        var ids = clients.Select(c => c.PeerId!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(ids, (await _app.GetOpenPeers("/ws/chat")).Intersect(ids));

        // The gateway list is written when a gateway joins; the activation that comes back elsewhere reads it, rather
        // than wait for every gateway's next renewal (a third of the lease) to hear of it again.
        var registry = _app.Cluster.Client.GetGrain<OrleansWs.Internal.IGatewayRegistryGrain>(0).GetGrainId();
        await _app.KillSiloAsync(_app.SiloOf(registry)!);
        await _app.WaitForClusterToSettle(afterKill: true);
        Assert.Equal(ids, (await _app.GetOpenPeers("/ws/chat")).Intersect(ids));

        // What Orleans logs about the dead silo is expected after a kill; nothing else is.
        _app.Logs.AssertNoErrorsSince(mark);
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Stopping_a_gateway_closes_its_peers_with_1001_and_runs_their_OnClose()
    {
        var (onStopped, stoppedId) = await _app.OpenRecording(gateway: 1);
        var (onOther, _) = await _app.OpenRecording(gateway: 0);
        await _app.StopGatewayAsync(1);

        var closed = await onStopped.ExpectClose(1001);
        Assert.Equal("server shutting down", closed.Reason);
        var details = (CloseDetails)(await HookLog.WaitFor(stoppedId, "close")).Argument!;
        Assert.Equal(1001, details.Code);

        await onOther.SendText("still here");
        Assert.Equal("still here", await onOther.ReceiveText());
    }

    [Fact]
    public async Task The_peers_of_a_killed_gateway_get_OnClose_1006_once_its_lease_runs_out()
    {
        var mark = _app.Logs.Mark();
        var room = WebSocketTestApp.UniqueName("room");
        var leased = await _app.StartGatewayAsync(g => g.Lease = Lease);
        var (doomed, doomedId) = await _app.OpenRecording($"subscribe={room}", gateway: leased.Index);
        var (survivor, survivorId) = await _app.OpenRecording($"subscribe={room}", gateway: 0);

        await _app.KillGatewayAsync(leased.Index);
        var details = (CloseDetails)(await HookLog.WaitFor(doomedId, "close", Lease * 10)).Argument!;
        Assert.Equal(new CloseDetails(1006, "gateway lost", WasClean: false), details);
        await _app.WaitForDeactivation(doomedId);
        Assert.Null(await _app.ReadPeerRecord<RecordingState>(doomedId));
        Assert.Null(await _app.GetTopics(doomedId));

        Assert.DoesNotContain(HookLog.For(survivorId), e => e.Hook == "close");
        Assert.Equal([survivorId], (await _app.GetOpenPeers("/ws/rec")).Intersect([survivorId, doomedId]));
        await survivor.SendText("pub:" + room + ":anyone?");
        Assert.Equal("published", await survivor.ReceiveText());
        _app.Logs.AssertNoErrorsSince(mark);
    }

    [Fact]
    public async Task A_listing_says_it_is_not_whole_while_a_dead_gateway_still_holds_its_lease()
    {
        var doomed = await _app.StartGatewayAsync();     // the default lease: 15 s
        await using var there = await _app.Connect("/ws/rec", gateway: doomed.Index);
        await using var here = await _app.Connect("/ws/rec", gateway: 0);
        var whole = await _app.GetOpenPeers("/ws/rec");
        Assert.True(whole.IsComplete);
        Assert.Contains(there.PeerId, whole);

        // Until the lease runs out the cluster counts the dead gateway as live: it cannot answer, and the listing says so.
        await _app.KillGatewayAsync(doomed.Index);
        var partial = await _app.GetOpenPeers("/ws/rec");
        Assert.False(partial.IsComplete);
        Assert.Equal(1, partial.UnansweredGateways);
        Assert.Contains(here.PeerId, partial);
        Assert.DoesNotContain(there.PeerId, partial);
    }

    [Fact]
    public async Task Killing_a_gateway_drops_its_sockets_and_leaves_the_other_gateway_alone()
    {
        var room = WebSocketTestApp.UniqueName("room");
        await using var doomed = await _app.Connect($"/ws/chat?room={room}", gateway: 1);
        await using var a = await _app.Connect($"/ws/chat?room={room}", gateway: 0);
        await using var b = await _app.Connect($"/ws/chat?room={room}", gateway: 0);

        await _app.KillGatewayAsync(1);
        var lost = await Assert.ThrowsAnyAsync<Exception>(() => doomed.Receive());
        Assert.Contains("connection", lost.Message, StringComparison.OrdinalIgnoreCase);

        await a.SendText("we live on");
        Assert.Equal("we live on", await b.ReceiveText());
        await using var back = await _app.Connect($"/ws/chat?room={room}", gateway: 0);
        await back.SendText("reconnected");
        Assert.Equal("reconnected", await a.ReceiveText());
    }

    [Fact]
    public async Task A_gateway_cut_off_from_the_cluster_for_its_lease_closes_its_sockets_with_1012_and_serves_again_once_back()
    {
        var mark = _app.Logs.Mark();
        // Long enough that renewals to a silo that has just started (cold activations) fit in it.
        var lease = TimeSpan.FromSeconds(3);
        var cutOff = await _app.StartGatewayAsync(g => g.Lease = lease);
        var (ghost, _) = await _app.OpenRecording(gateway: cutOff.Index);

        // With no silo left, renewals fail; once the lease has run out the gateway fences itself.
        foreach (var silo in _app.Silos)
        {
            await _app.KillSiloAsync(silo);
        }

        var closed = await ghost.ExpectClose(1012, lease * 10);
        Assert.Equal("gateway lost its lease; reconnect", closed.Reason);

        // A silo again: the next renewal is a new lease, and new peers are served.
        await _app.StartSiloAsync();
        var deadline = DateTime.UtcNow + _app.Timeout;
        var gatewayLease = cutOff.App.Services.GetRequiredService<GatewayLease>();
        while (!gatewayLease.IsReady)
        {
            Assert.True(DateTime.UtcNow < deadline, "the gateway never got its lease back");
            await Task.Delay(100);
        }

        var (back, _) = await _app.OpenRecording(gateway: cutOff.Index);
        await back.SendText("items");
        Assert.Equal("items:", await back.ReceiveText());
        Assert.Contains(_app.Logs.ErrorsSince(mark), l => l.EventName == "LeaseLost");
    }
}
