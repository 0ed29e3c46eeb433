using OrleansWs;

namespace CounterRooms;

/// <summary>
/// <c>/rooms?room=NAME</c>: the members of a room share a counter that the room's grain holds. A member hears the
/// room's value when it joins; <c>inc</c>, <c>dec</c> and <c>reset</c> change it, and every member hears the change.
/// </summary>
[GrainType("counter-rooms")]
public sealed class CounterRoomsHandler(IGrainFactory grains) : WebSocketHandler<MemberState>
{
    public override ValueTask<UpgradeDecision> OnUpgrade(UpgradeRequest request) =>
        ValueTask.FromResult(request.Query["room"] is { Length: > 0 } ? Accept() : Reject(400, "?room=NAME is required"));

    public override async Task OnOpen(Peer peer)
    {
        State.Room = peer.Query["room"]!;
        await peer.Subscribe(State.Room);         // in place when it returns: every change from now on reaches this peer
        await peer.SendJson(await Room.Get());    // so read after it, and no change made while joining is missed
    }

    public override async Task OnMessage(Peer peer, Message message)
    {
        RoomValue? changed = message.Text() switch
        {
            "inc" => await Room.Add(1),
            "dec" => await Room.Add(-1),
            "reset" => await Room.Reset(),
            _ => null,
        };
        if (changed is null)
        {
            await peer.Close(4000, "send inc, dec or reset");
            return;
        }

        await peer.SendJson(changed);
        await peer.PublishJson(State.Room, changed);   // to the other members
    }

    private IRoomGrain Room => grains.GetGrain<IRoomGrain>(State.Room);
}

/// <summary>A member's own state: the room it joined.</summary>
[GenerateSerializer]
public sealed class MemberState
{
    [Id(0)] public string Room { get; set; } = "";
}

/// <summary>A room. Key: its name.</summary>
public interface IRoomGrain : IGrainWithStringKey
{
    Task<RoomValue> Get();

    Task<RoomValue> Add(int delta);

    Task<RoomValue> Reset();
}

/// <summary>A room's value and how many changes made it: a member that sees a version twice drops the repeat.</summary>
[GenerateSerializer, Immutable]
public sealed record RoomValue([property: Id(0)] int Value, [property: Id(1)] int Version);

/// <summary>Holds a room's value in the grain storage <see cref="Storage"/>; each change is stored before it is told.</summary>
[GrainType("counter-room")]
public sealed class RoomGrain([PersistentState("room", RoomGrain.Storage)] IPersistentState<RoomState> room) : Grain, IRoomGrain
{
    public const string Storage = "rooms";

    public Task<RoomValue> Get() => Task.FromResult(new RoomValue(room.State.Value, room.State.Version));

    public Task<RoomValue> Add(int delta) => Set(room.State.Value + delta);

    public Task<RoomValue> Reset() => Set(0);

    private async Task<RoomValue> Set(int value)
    {
        (room.State.Value, room.State.Version) = (value, room.State.Version + 1);
        await room.WriteStateAsync();
        return await Get();
    }
}

[GenerateSerializer]
public sealed class RoomState
{
    [Id(0)] public int Value { get; set; }

    [Id(1)] public int Version { get; set; }
}
