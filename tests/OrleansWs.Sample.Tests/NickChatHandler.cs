using OrleansWs;

namespace NickChat;

/// <summary>
/// A chat where each peer has a nickname kept in its persisted state:
/// <c>/ws/nickchat?nick=NAME&amp;room=ROOM</c>; "/nick NEW" renames.
/// </summary>
[GrainType("nickchat")]
public sealed class NickChatHandler : WebSocketHandler<NickState>
{
    public override ValueTask<UpgradeDecision> OnUpgrade(UpgradeRequest request) =>
        ValueTask.FromResult(request.Query["nick"] is { Length: > 0 and <= 32 }
            ? Accept()
            : Reject(400, "nick (1-32 characters) is required"));

    public override async Task OnOpen(Peer peer)
    {
        State.Nick = peer.Query["nick"]!;
        State.Room = peer.Query["room"] ?? "lobby";
        await peer.Subscribe(State.Room);
        await peer.Send($"welcome {State.Nick}");
        await peer.Publish(State.Room, $"* {State.Nick} joined");
    }

    public override async Task OnMessage(Peer peer, Message message)
    {
        var text = message.Text();
        if (text.StartsWith("/nick ", StringComparison.Ordinal))
        {
            var old = State.Nick;
            State.Nick = text["/nick ".Length..].Trim();
            State.Renames++;
            await peer.Send($"you are {State.Nick}");
            await peer.Publish(State.Room, $"* {old} is now {State.Nick}");
        }
        else if (text == "/whoami")
        {
            await peer.Send($"{State.Nick} in {State.Room}, renamed {State.Renames} times");
        }
        else
        {
            await peer.Publish(State.Room, $"{State.Nick}: {text}");
        }
    }

    public override Task OnClose(Peer peer, CloseDetails details) =>
        peer.Publish(State.Room, $"* {State.Nick} left");
}

[GenerateSerializer]
public sealed class NickState
{
    [Id(0)] public string Nick { get; set; } = "";
    [Id(1)] public string Room { get; set; } = "";
    [Id(2)] public int Renames { get; set; }
}
