using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests.Resume;

/// <summary>What the rest of the cluster sees of a resumable peer (listings, sends by id), its user, and the kit's client.</summary>
[Collection(nameof(ResumeFixture))]
public sealed class ResumePeersTests(ResumeFixture fixture)
{
    private WebSocketTestApp App => fixture.App;

    private Uri Url(string path, int gateway = 0) => new(App.Gateways[gateway].WebSocketAddress, path);

    [Fact]
    public async Task A_detached_peer_is_listed_apart_and_a_send_by_id_says_it_is_kept_for_it()
    {
        var wire = await ResumeWire.Connect(Url("/ws/resume"));
        Assert.Equal(PeerPresence.Connected, await App.Peers.SendTo(wire.PeerId, Message.FromText("here")));
        await wire.ReceiveData();
        var (peerId, token, seen) = await wire.Drop((await wire.ReceiveData()).Header.GetProperty("s").GetInt64());

        // The namespace's list follows a detach within moments (the peer does not wait for it).
        var listing = await Listing(l => l.Detached.Contains(peerId));
        Assert.DoesNotContain(peerId, listing);
        Assert.True(listing.IsComplete);
        Assert.Equal(PeerPresence.Detached, await App.Peers.SendTo(peerId, Message.FromText("kept")));

        await using var resumed = await ResumeWire.Connect(Url("/ws/resume", gateway: 1), token, seen);
        Assert.Equal("kept", (await resumed.ReceiveData()).Payload);
        listing = await Listing(l => !l.Detached.Contains(peerId));
        Assert.Contains(peerId, listing);
        Assert.Equal(PeerPresence.Connected, await App.Peers.SendTo(peerId, Message.FromText("live")));
        Assert.Equal(PeerPresence.NotOpen, await App.Peers.SendTo("resumehandler/" + Guid.NewGuid().ToString("N"), Message.FromText("nobody")));
    }

    [Fact]
    public async Task A_token_is_bound_to_its_user_and_another_user_is_refused_as_a_forgery_is()
    {
        var wire = await ResumeWire.Connect(Url("/ws/resume?user=ann"));
        var (peerId, token, seen) = await wire.Drop((await wire.ReceiveData()).Header.GetProperty("s").GetInt64());

        foreach (var other in new[] { "/ws/resume?user=bob", "/ws/resume" })
        {
            await using var refused = await ResumeWire.Connect(Url(other, gateway: 1), token, seen);
            Assert.Equal(CloseCodes.ResumeRefused, (int?)refused.Socket.CloseStatus);
            Assert.Equal("resume refused", refused.Socket.CloseStatusDescription);
        }

        await using var resumed = await ResumeWire.Connect(Url("/ws/resume?user=ann", gateway: 1), token, seen);
        Assert.Equal(peerId, resumed.PeerId);
        Assert.True(resumed.Recovered);
    }

    [Fact]
    public async Task The_kits_TestClient_resumes_after_a_drop_with_its_state_and_nothing_missed()
    {
        await using var client = await App.ConnectResumableClient("/ws/resume");
        Assert.StartsWith("open ", await client.ReceiveText());
        await client.SendText("n:a");
        Assert.Equal("n:a:1", await client.ReceiveText());

        // Whether the send finds the peer detached or its dead connection still attached, it is on record and shown once.
        client.Abort();
        Assert.True(await App.Peers.Send(client.PeerId!, Message.FromText("while away")));
        Assert.True(await client.WaitForResume());
        Assert.Equal("while away", await client.ReceiveText());
        await client.SendText("n:b");
        Assert.Equal("n:b:2", await client.ReceiveText());
    }

    [Fact]
    public async Task A_named_send_released_again_is_shown_once()
    {
        await using var wire = await ResumeWire.Connect(Url("/ws/resume"));
        await wire.ReceiveData();
        var grain = App.Cluster.Client.GetGrain<OrleansWs.Internal.IPeerGrain>(OrleansWs.Internal.PeerIds.ToGrainId(wire.PeerId));
        var id = new OrleansWs.Internal.EffectId("sender/1", Guid.NewGuid(), 0);

        // An outbox released twice (its silo died after the first release): the same effect id both times.
        Assert.True(await grain.SendOnce(Message.FromText("once"), id));
        Assert.True(await grain.SendOnce(Message.FromText("once"), id));
        Assert.True(await App.Peers.Send(wire.PeerId, Message.FromText("after")));
        Assert.Equal(["once", "after"], [(await wire.ReceiveData()).Payload, (await wire.ReceiveData()).Payload]);
    }

    private async Task<PeerListing> Listing(Func<PeerListing, bool> until)
    {
        var deadline = DateTime.UtcNow + App.Timeout;
        while (true)
        {
            var listing = await App.Peers.GetPeers("/ws/resume");
            if (until(listing) || DateTime.UtcNow > deadline)
            {
                Assert.True(until(listing), $"listing: [{string.Join(",", listing)}], detached: [{string.Join(",", listing.Detached)}]");
                return listing;
            }

            await Task.Delay(50);
        }
    }
}
