using OrleansWs.Internal;

namespace OrleansWs.Tests;

public sealed class FromAnywhereTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private readonly Testing.WebSocketTestApp _app = fixture.App;

    [Fact]
    public async Task Send_and_close_by_peer_id_reach_the_peer_on_whichever_gateway_it_is()
    {
        var (near, nearId) = await _app.OpenRecording(gateway: 0);
        var (far, farId) = await _app.OpenRecording(gateway: 1);

        Assert.True(await _app.Peers.Send(farId, Message.FromText("to far")));
        Assert.Equal("to far", await far.ReceiveText());
        Assert.True(await _app.Peers.Send(nearId, Message.FromBytes([9])));
        Assert.Equal([9], await near.ReceiveBinary());

        Assert.True(await _app.Peers.Close(farId, 4100, "kicked"));
        var closed = await far.ExpectClose(4100);
        Assert.Equal("kicked", closed.Reason);
        await Handlers.HookLog.WaitFor(farId, "close");
        await _app.WaitForDeactivation(farId);
        Assert.False(await _app.Peers.Send(farId, Message.FromText("too late")));
    }

    [Fact]
    public async Task Sending_to_an_unknown_peer_says_false_and_leaves_nothing_behind()
    {
        var ghost = PeerIds.New("recording");
        Assert.False(await _app.Peers.Send(ghost, Message.FromText("anyone?")));
        Assert.Null(await _app.Peers.GetTopics(ghost));
        await _app.WaitForDeactivation(ghost);
        Assert.False(_app.IsActive(ghost));
    }

    [Fact]
    public async Task Listing_peers_covers_every_gateway_in_a_stable_order_and_only_open_peers()
    {
        var before = await _app.Peers.GetPeers("/ws/rec");
        var (a, aId) = await _app.OpenRecording(gateway: 0);
        var (b, bId) = await _app.OpenRecording(gateway: 1);
        var (c, cId) = await _app.OpenRecording(gateway: 0);

        var listed = (await _app.Peers.GetPeers("/ws/rec")).Except(before).ToList();
        Assert.Equal([aId, bId, cId], listed);
        Assert.Equal(listed, (await _app.Peers.GetPeers("/ws/rec")).Except(before));

        await a.SendText("peers");
        var fromHook = (await a.ReceiveText())["peers:".Length..].Split(',');
        Assert.Equal([aId, bId, cId], fromHook.Except(before));

        await b.Close();
        await Handlers.HookLog.WaitFor(bId, "close");
        Assert.Equal([aId, cId], (await _app.Peers.GetPeers("/ws/rec")).Except(before));
        Assert.Empty(await _app.Peers.GetPeers("/ws/nobody"));
    }

    [Fact]
    public async Task Topics_of_a_peer_can_be_read_by_id()
    {
        var topic = AppExtensions.NewTag();
        var (client, peerId) = await _app.OpenRecording("subscribe=" + topic);
        Assert.Equal([topic], await _app.Peers.GetTopics(peerId));
        await client.SendText("sub:second");
        await client.ReceiveText();
        Assert.Equal([topic, "second"], await _app.Peers.GetTopics(peerId));
    }

    [Fact]
    public async Task Terminate_by_id_drops_the_connection()
    {
        var (client, peerId) = await _app.OpenRecording(gateway: 1);
        Assert.True(await _app.Peers.Terminate(peerId));
        var details = (CloseDetails)(await Handlers.HookLog.WaitFor(peerId, "close")).Argument!;
        Assert.Equal(1006, details.Code);
    }

    [Fact]
    public async Task Closing_by_id_with_a_code_or_reason_no_close_frame_can_carry_is_refused_up_front()
    {
        var (client, peerId) = await _app.OpenRecording();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _app.Peers.Close(peerId, 1006, "not sendable"));
        await Assert.ThrowsAsync<ArgumentException>(() => _app.Peers.Close(peerId, 4000, new string('x', 124)));
        await client.SendText("still open");
        Assert.Equal("still open", await client.ReceiveText());
    }
}
