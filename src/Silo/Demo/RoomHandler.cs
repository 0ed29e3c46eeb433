namespace OrleansWs.Silo.Demo;

/// <summary>
/// <c>/ws/room?room=NAME</c>: crossws' chat demo. A peer is welcomed, the room is told it joined, and it
/// joins the room; each of its messages comes back to it and goes to every other peer in the room. The
/// echo is the hook's reply, so it reaches the sender only after the room's gateways queued the publish.
/// </summary>
[GrainType("room")]
public sealed class RoomHandler : WebSocketHandler<ChatState>
{
    /// <inheritdoc />
    public override ValueTask<UpgradeDecision> OnUpgrade(UpgradeRequest request) => ValueTask.FromResult(ChatHandler.RequireRoom(request));

    /// <inheritdoc />
    public override async Task OnOpen(Peer peer)
    {
        State.Room = peer.Query["room"]!;
        await peer.Send($"Welcome {peer.Id}!");
        await peer.Publish(State.Room, $"{peer.Id} joined!");
        await peer.Subscribe(State.Room);
    }

    /// <inheritdoc />
    public override async Task OnMessage(Peer peer, Message message)
    {
        await peer.Send(message);
        await peer.Publish(State.Room, message);
    }
}
