namespace OrleansWs.Tests.Handlers;

/// <summary>A room's shared counter, a grain of its own (in memory: the tests need no storage for it).</summary>
public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> Get();

    Task<int> Add(int delta);
}

public sealed class CounterGrain : Grain, ICounterGrain
{
    private int _value;

    public Task<int> Get() => Task.FromResult(_value);

    public Task<int> Add(int delta) => Task.FromResult(_value += delta);
}

/// <summary>
/// Peers of a room share its counter: a handler that calls another grain through the factory its constructor is
/// given, so a unit test can hand it a fake.
/// </summary>
[GrainType("counter-room")]
public sealed class CounterRoomHandler(IGrainFactory grains) : WebSocketHandler<CounterRoomState>
{
    public override async Task OnOpen(Peer peer)
    {
        State.Room = peer.Query["room"] ?? "lobby";
        await peer.Subscribe(State.Room);
        var value = await Counter.Get();
        if (int.TryParse(peer.Query["pause"], out var pause))
        {
            // A slow OnOpen (a test's): publishes made while it runs must still reach the peer.
            await Task.Delay(pause);
        }

        await peer.Send($"value {value}");
    }

    public override async Task OnMessage(Peer peer, Message message)
    {
        var value = message.Text() switch
        {
            "inc" => await Counter.Add(1),
            "dec" => await Counter.Add(-1),
            _ => await Counter.Get(),
        };
        await peer.Send($"value {value}");
        await peer.Publish(State.Room, $"value {value}");
    }

    private ICounterGrain Counter => grains.GetGrain<ICounterGrain>(State.Room);
}

[GenerateSerializer]
public sealed class CounterRoomState
{
    [Id(0)] public string Room { get; set; } = "";
}
