namespace OrleansWs.Silo.Demo;

/// <summary>
/// <c>/ws/counter?room=NAME</c>: the peers of a room share a counter held by a grain of its own
/// (<see cref="ICounterGrain"/>). A peer hears <c>value N</c> on open; <c>inc</c>, <c>dec</c> and <c>reset</c>
/// change it and every peer of the room hears the new value. The handler reads the counter after its subscribe is in
/// place, so no change made while it joins is missed.
/// </summary>
[GrainType("counter")]
public class CounterHandler(IGrainFactory grains) : WebSocketHandler<ChatState>
{
    /// <inheritdoc />
    public override ValueTask<UpgradeDecision> OnUpgrade(UpgradeRequest request) => ValueTask.FromResult(ChatHandler.RequireRoom(request));

    /// <inheritdoc />
    public override async Task OnOpen(Peer peer)
    {
        State.Room = peer.Query["room"]!;
        await peer.Subscribe(State.Room);
        await peer.Send($"value {await Counter.Get()}");
    }

    /// <inheritdoc />
    public override async Task OnMessage(Peer peer, Message message)
    {
        int? changed = message.Text() switch
        {
            "inc" => await Counter.Add(1),
            "dec" => await Counter.Add(-1),
            "reset" => await Counter.Reset(),
            _ => null,
        };
        if (changed is not { } value)
        {
            await peer.Send($"unknown command '{message.Text()}': inc, dec or reset");
            return;
        }

        await peer.Send($"value {value}");
        await peer.Publish(State.Room, $"value {value}");
    }

    private ICounterGrain Counter => grains.GetGrain<ICounterGrain>(State.Room);
}

/// <summary>A room's counter. Key: the room.</summary>
public interface ICounterGrain : IGrainWithStringKey
{
    /// <summary>The value.</summary>
    Task<int> Get();

    /// <summary>Adds <paramref name="delta"/>; returns the new value once it is stored.</summary>
    Task<int> Add(int delta);

    /// <summary>Sets the value to 0; returns it once it is stored.</summary>
    Task<int> Reset();
}

/// <summary>
/// Keeps its value in the storage named <see cref="Storage"/>, which the host stores with peer state
/// (<c>silo.AddOrleansWsStorage</c>): memory when embedded, Redis or PostgreSQL when scaled.
/// </summary>
[GrainType("room-counter")]
public sealed class CounterGrain([PersistentState("counter", CounterGrain.Storage)] IPersistentState<CounterState> counter) : Grain, ICounterGrain
{
    /// <summary>The name of the rooms' grain storage.</summary>
    public const string Storage = "rooms";

    /// <inheritdoc />
    public Task<int> Get() => Task.FromResult(counter.State.Value);

    /// <inheritdoc />
    public Task<int> Add(int delta) => Set(counter.State.Value + delta);

    /// <inheritdoc />
    public Task<int> Reset() => Set(0);

    private async Task<int> Set(int value)
    {
        counter.State.Value = value;
        await counter.WriteStateAsync();
        return value;
    }
}

/// <summary>A counter's stored state.</summary>
[GenerateSerializer]
public sealed class CounterState
{
    /// <summary>The value.</summary>
    [Id(0)] public int Value { get; set; }
}
