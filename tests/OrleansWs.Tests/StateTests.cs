using OrleansWs.Internal;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

public sealed class StateTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private readonly Testing.WebSocketTestApp _app = fixture.App;

    [Fact]
    public async Task Peer_state_is_written_by_the_runtime_and_survives_deactivation()
    {
        var (client, peerId) = await _app.OpenRecording();
        await client.SendText("add:a");
        Assert.Equal("items:a", await client.ReceiveText());
        await client.SendText("add:b");
        Assert.Equal("items:a,b", await client.ReceiveText());

        // Written before the reply left the grain.
        Assert.Equal(["a", "b"], (await _app.ReadState<RecordingState>(peerId))!.Items);

        await _app.Deactivate(peerId);
        Assert.False(_app.IsActive(peerId));

        // The socket stayed open; the next message reactivates the grain, which reads its state back.
        await client.SendText("items");
        Assert.Equal("items:a,b", await client.ReceiveText());
        await client.SendText("add:c");
        Assert.Equal("items:a,b,c", await client.ReceiveText());
    }

    [Fact]
    public async Task A_connect_to_a_stored_peer_is_refused_and_leaves_its_record_alone()
    {
        var (client, peerId) = await _app.OpenRecording();
        await client.SendText("add:a");
        Assert.Equal("items:a", await client.ReceiveText());
        await _app.Deactivate(peerId);

        // A Connect does not read storage (its peer id is new), so only the write's ETag check
        // stands between a second Connect for this id and the open peer's record.
        var record = (await _app.ReadPeerRecord<RecordingState>(peerId))!;
        var grain = _app.Cluster.Client.GetGrain<IPeerGrain>(PeerIds.ToGrainId(peerId));
        await Assert.ThrowsAnyAsync<OrleansException>(() => grain.Connect(new ConnectRequest(record.Request!, record.Gateway!, record.GatewayId, [])));

        Assert.Equal(["a"], (await _app.ReadState<RecordingState>(peerId))!.Items);
        await client.SendText("add:b");
        Assert.Equal("items:a,b", await client.ReceiveText());
    }

    [Fact]
    public async Task Subscriptions_survive_deactivation()
    {
        var topic = AppExtensions.NewTag();
        var (client, peerId) = await _app.OpenRecording("subscribe=" + topic);
        await _app.Deactivate(peerId);

        await client.SendText("topics");
        Assert.Equal("topics:" + topic, await client.ReceiveText());
        await _app.Peers.Publish(topic, Message.FromText("still subscribed"));
        Assert.Equal("still subscribed", await client.ReceiveText());
    }

    [Fact]
    public async Task State_is_cleared_after_the_close()
    {
        var (client, peerId) = await _app.OpenRecording();
        await client.SendText("add:x");
        await client.ReceiveText();
        Assert.NotNull(await _app.ReadPeerRecord<RecordingState>(peerId));

        await client.Close();
        await HookLog.WaitFor(peerId, "close");
        await _app.WaitForDeactivation(peerId);
        Assert.Null(await _app.ReadPeerRecord<RecordingState>(peerId));
    }

    [Fact]
    public async Task The_request_survives_deactivation()
    {
        await using var client = await _app.Connect("/ws/rec?x=1&x=2&empty=", configure: o => o.SetRequestHeader("X-Custom", "Value"));
        var peerId = (await client.ReceiveText())["welcome ".Length..];
        await _app.Deactivate(peerId);

        // Read back from storage by the reactivated grain.
        await client.SendText("query:x");
        Assert.Equal("query:1,2", await client.ReceiveText());
        await client.SendText("query:empty");
        Assert.Equal("query:", await client.ReceiveText());
        await client.SendText("header:X-CUSTOM");
        Assert.Equal("header:Value", await client.ReceiveText());
        await client.SendText("header:upgrade");
        Assert.Equal("header:websocket", await client.ReceiveText());
    }

    [Fact]
    public async Task The_record_holds_the_connection_facts()
    {
        var (client, peerId) = await _app.OpenRecording("a=b");
        var record = (await _app.ReadPeerRecord<RecordingState>(peerId))!;
        Assert.Equal(peerId, record.PeerId);
        Assert.Equal("b", record.Request!.Query["a"]);
        Assert.NotNull(record.Gateway);
        await client.Close();
    }
}
