namespace OrleansWs.Silo.Demo;

/// <summary>
/// <c>/ws/chat?room=NAME</c>: a peer joins topic NAME on open; each of its messages goes unchanged to
/// every other peer in the room, on any gateway.
/// </summary>
[GrainType("chat")]
public sealed class ChatHandler : WebSocketHandler<ChatState>
{
    /// <inheritdoc />
    public override ValueTask<UpgradeDecision> OnUpgrade(UpgradeRequest request) => ValueTask.FromResult(RequireRoom(request));

    /// <summary>Accepts a request that names its room (<c>?room=NAME</c>); a 400 otherwise.</summary>
    internal static UpgradeDecision RequireRoom(UpgradeRequest request) =>
        request.Query["room"] is { Length: > 0 } ? Accept() : Reject(400, "The query parameter 'room' is required.\n");

    /// <inheritdoc />
    public override async Task OnOpen(Peer peer)
    {
        State.Room = peer.Query["room"]!;
        await peer.Subscribe(State.Room);
    }

    /// <inheritdoc />
    public override Task OnMessage(Peer peer, Message message) => peer.Publish(State.Room, message);
}

/// <summary>A chat peer's state: the room it joined.</summary>
[GenerateSerializer]
public sealed class ChatState
{
    /// <summary>The room (topic) name.</summary>
    [Id(0)] public string Room { get; set; } = "";
}
