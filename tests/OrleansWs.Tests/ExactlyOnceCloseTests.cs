using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

/// <summary>A peer's close happens once, whatever died before: two silos, each killed and replaced in turn.</summary>
public sealed class ExactlyOnceCloseTests : IAsyncLifetime
{
    private readonly AppFixture _fixture = new TwoSilosFixture();
    private WebSocketTestApp _app = null!;

    public async Task InitializeAsync()
    {
        await _fixture.InitializeAsync();
        _app = _fixture.App;
    }

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task A_gateway_killed_after_every_silo_was_killed_and_replaced_still_has_each_peer_closed_once()
    {
        var mark = _app.Logs.Mark();
        // Long enough that a renewal held up by a silo's death does not lose it.
        var leased = await _app.StartGatewayAsync(g => g.Lease = TimeSpan.FromSeconds(4));
        var peers = new List<(TestClient Client, string Id)>();
        for (var i = 0; i < 12; i++)
        {
            peers.Add(await _app.OpenRecording(gateway: leased.Index));
        }

        // Every silo the gateway's lists were on dies in turn: the lists come back from storage, not from memory.
        foreach (var silo in _app.Silos.ToList())
        {
            await _app.KillSiloAsync(silo);
            await _app.StartSiloAsync();
            await _app.WaitForClusterToSettle(afterKill: true);
        }

        foreach (var (client, _) in peers)
        {
            await client.SendText("still open");
            Assert.Equal("still open", await client.ReceiveText());
        }

        await _app.KillGatewayAsync(leased.Index);
        foreach (var (_, id) in peers)
        {
            var details = (CloseDetails)(await HookLog.WaitFor(id, "close", TimeSpan.FromSeconds(30))).Argument!;
            Assert.Equal(new CloseDetails(1006, "gateway lost", WasClean: false), details);
            await _app.WaitForDeactivation(id);
            Assert.Null(await _app.ReadPeerRecord<RecordingState>(id));
            Assert.Single(HookLog.For(id), e => e.Hook == "close");
        }

        _app.Logs.AssertNoErrorsSince(mark);
    }

    [Fact]
    public async Task A_peer_whose_silo_died_while_OnOpen_ran_is_closed_once()
    {
        var tag = AppExtensions.NewTag();
        var connecting = _app.Connect($"/ws/rec?holdOpen={tag}");
        var id = (string)(await HookLog.WaitFor("opening/" + tag, "open")).Argument!;

        // The gateway's Connect call is never answered; once it gives up, it closes the peer, which the other silo finds
        // on record and closes: OnClose follows the OnOpen that began.
        await _app.KillSiloAsync(_app.SiloOf(id)!);
        // The client never sees a 101 (here it gives up before the 503).
        await Assert.ThrowsAnyAsync<System.Net.WebSockets.WebSocketException>(() => connecting);
        var details = (CloseDetails)(await HookLog.WaitFor(id, "close", TimeSpan.FromSeconds(45))).Argument!;
        Assert.Equal(1, details.Attempt);
        await _app.WaitForDeactivation(id);
        Assert.Null(await _app.ReadPeerRecord<RecordingState>(id));
        Assert.Single(HookLog.For(id), e => e.Hook == "close");
    }

    [Fact]
    public async Task A_close_whose_silo_died_in_OnClose_runs_again_elsewhere_with_the_same_details_and_the_next_attempt()
    {
        var (client, id) = await _app.OpenRecording("holdClose=1");
        var silo = _app.SiloOf(id)!;
        await client.Close(4000, "bye");
        var first = (CloseDetails)(await HookLog.WaitFor(id, "close")).Argument!;
        Assert.Equal(1, first.Attempt);

        // The gateway's Closed call times out with the silo; it asks again, and the silo left finishes the close.
        await _app.KillSiloAsync(silo);
        var runs = await HookLog.WaitForCount(id, "close", 2, TimeSpan.FromSeconds(45));
        var second = (CloseDetails)runs[1].Argument!;
        Assert.Equal(first with { Attempt = 2 }, second);
        Assert.Equal((4000, "bye"), (second.Code, second.Reason));
        await _app.WaitForDeactivation(id);
        Assert.Null(await _app.ReadPeerRecord<RecordingState>(id));
        Assert.Null(await _app.GetTopics(id));
    }
}
