using StackExchange.Redis;

namespace OrleansWs.Silo.Chaos;

/// <summary>
/// <c>/ws/ledger?room=NAME</c>, mapped only when <c>OrleansWs:Ledger:Redis</c> is set (scripts/chaos.sh): a room
/// handler that writes each of its hooks to a ledger in Redis, outside every process the chaos run kills, so the run
/// can check afterwards that each peer opened once and closed once. <c>e…</c> comes back; <c>p:SEQ</c> publishes
/// <c>m:PEER:SEQ</c> to the room and answers <c>a:SEQ</c>, after every gateway subscribed to the room queued it.
/// </summary>
[GrainType("ledger")]
public sealed class LedgerHandler(Ledger ledger) : WebSocketHandler<LedgerState>
{
    /// <inheritdoc />
    public override async Task OnOpen(Peer peer)
    {
        State.Room = peer.Query["room"];
        await ledger.Opened(peer.Id);
        await peer.Send("welcome " + peer.Id);
        if (State.Room is { } room)
        {
            await peer.Subscribe(room);
        }
    }

    /// <inheritdoc />
    public override async Task OnMessage(Peer peer, Message message)
    {
        var text = message.Text();
        if (text.StartsWith("p:", StringComparison.Ordinal) && State.Room is { } room)
        {
            await peer.Publish(room, $"m:{peer.Id}:{text[2..]}");
            await peer.Send("a:" + text[2..]);
        }
        else
        {
            await peer.Send(message);
        }
    }

    /// <inheritdoc />
    public override Task OnClose(Peer peer, CloseDetails details) => ledger.Closed(peer.Id, details);
}

/// <summary>What a ledger peer stores: its room.</summary>
[GenerateSerializer]
public sealed class LedgerState
{
    /// <summary>The room the peer joined, if any.</summary>
    [Id(0)] public string? Room { get; set; }
}

/// <summary>The chaos run's record of hooks, in Redis: <c>ledger:open</c>, <c>ledger:close</c> (runs of OnClose) and <c>ledger:attempt</c>, by peer id.</summary>
public sealed class Ledger(IConnectionMultiplexer redis)
{
    /// <summary>Records that OnOpen ran for <paramref name="peerId"/>.</summary>
    public Task Opened(string peerId) => redis.GetDatabase().HashIncrementAsync("ledger:open", peerId);

    /// <summary>Records a run of OnClose for <paramref name="peerId"/>, with its code and attempt.</summary>
    public Task Closed(string peerId, CloseDetails details)
    {
        var db = redis.GetDatabase();
        return Task.WhenAll(
            db.HashIncrementAsync("ledger:close", peerId),
            db.HashSetAsync("ledger:attempt", peerId, $"{details.Attempt}:{details.Code}"));
    }
}
