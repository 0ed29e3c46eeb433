namespace OrleansWs.Tests.Handlers;

[GenerateSerializer]
public sealed class ResumeState
{
    [Id(0)] public int Count { get; set; }
}

/// <summary>
/// A handler for resume tests, mapped with resume on: "n:X" counts (its reply says how many messages ran), "sub:T"
/// subscribes, "pub:T:M" publishes, "to:PEER:M" sends by id, "state" tells the count, "close" closes. Its detach, resume
/// and close hooks are recorded under the peer's id.
/// </summary>
public sealed class ResumeHandler : WebSocketHandler<ResumeState>
{
    public override ValueTask<UpgradeDecision> OnUpgrade(UpgradeRequest request) =>
        ValueTask.FromResult(Accept(protocol: request.Query["protocol"], context: string.Join(",", request.RequestedProtocols)));

    public override Task OnOpen(Peer peer) => peer.Send($"open {peer.Id} {peer.Context} {peer.Protocol}");

    public override async Task OnMessage(Peer peer, Message message)
    {
        var text = message.Text();
        var parts = text.Split(':', 3);
        switch (parts[0])
        {
            case "n":
                State.Count++;
                await peer.Send($"n:{parts[1]}:{State.Count}");
                break;
            case "sub":
                await peer.Subscribe(parts[1]);
                await peer.Send("subscribed " + parts[1]);
                break;
            case "pub":
                await peer.Publish(parts[1], parts[2]);
                break;
            case "to":
                await Peers.Send(parts[1], Message.FromText(parts[2]));
                break;
            case "state":
                await peer.Send("count " + State.Count);
                break;
            case "close":
                await peer.Close(CloseCodes.Normal, "bye");
                break;
            default:
                await peer.Send(message);
                break;
        }
    }

    public override Task OnDetach(Peer peer, CloseDetails details)
    {
        HookLog.Record(peer.Id, "detach", details);
        return Task.CompletedTask;
    }

    public override Task OnResume(Peer peer, bool recovered)
    {
        HookLog.Record(peer.Id, "resume", recovered);
        return Task.CompletedTask;
    }

    public override Task OnClose(Peer peer, CloseDetails details)
    {
        HookLog.Record(peer.Id, "close", details);
        return Task.CompletedTask;
    }
}
