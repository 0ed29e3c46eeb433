using System.Collections.Concurrent;

namespace OrleansWs.Tests.Handlers;

/// <summary>
/// crossws' chat demo ported to OrleansWs: <c>/ws/causal?room=NAME</c> welcomes the peer, tells the room it
/// joined and subscribes it (not with <c>listen=no</c>, whose handshake then waits for no subscription). Text commands exercise every kind of effect a hook can have, each answered
/// with a reply frame, so a test can ask whether what the hook did reached others before that reply.
/// </summary>
[GrainType("causal")]
public sealed class CausalHandler : WebSocketHandler<CausalState>
{
    /// <summary>Gates that <c>park</c> waits on after its commit point, by peer id.</summary>
    public static ConcurrentDictionary<string, TaskCompletionSource> Parked { get; } = new();

    public override async Task OnOpen(Peer peer)
    {
        State.Room = peer.Query["room"]!;
        await peer.Send("welcome " + peer.Id);
        await peer.Publish(State.Room, peer.Id + " joined!");
        if (peer.Query["listen"] != "no")
        {
            await peer.Subscribe(State.Room);
        }
    }

    public override async Task OnMessage(Peer peer, Message message)
    {
        var parts = message.Text().Split(':', 3);
        switch (parts[0])
        {
            case "who":
                // Answered at once, as crossws' demo answers from its own process: the reply frame races
                // whatever other hooks published, unless those publishes are queued first.
                await peer.Send("here: " + string.Join(",", peer.Topics));
                break;
            case "pub":
                await peer.Publish(State.Room, parts[1]);
                await peer.Send("published");
                break;
            case "peers-pub":
                await Peers.Publish(State.Room, Message.FromText(parts[1]));
                await peer.Send("published");
                break;
            case "send":
                await peer.Send(await Peers.Send(parts[1], Message.FromText(parts[2])) ? "sent" : "not open");
                break;
            case "close":
                await peer.Send(await Peers.Close(parts[1], 4001, "closed by a peer") ? "closed" : "not open");
                break;
            case "park":
                // A commit point, then a wait the test ends: what came before it must be out already.
                State.Notes.Add(parts[1]);
                await peer.Send("before the drain");
                await peer.Publish(State.Room, "published before the drain");
                var drained = await peer.WaitForDrain();
                await Parked.GetOrAdd(peer.Id, _ => new()).Task.WaitAsync(TimeSpan.FromSeconds(30));
                await peer.Send("drained " + drained);
                break;
        }
    }
}

[GenerateSerializer]
public sealed class CausalState
{
    [Id(0)] public string Room { get; set; } = "";

    [Id(1)] public List<string> Notes { get; set; } = [];
}
