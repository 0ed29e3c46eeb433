using OrleansWs.Silo.Demo;

namespace OrleansWs.Tests.Handlers;

/// <summary>
/// The demo's counter rooms, with a slow <c>OnOpen</c> when asked (<c>?pause=MS</c>, after the value is sent): the
/// publishes made while it runs must still reach the peer.
/// </summary>
[GrainType("counter-room")]
public sealed class CounterRoomHandler(IGrainFactory grains) : CounterHandler(grains)
{
    public override async Task OnOpen(Peer peer)
    {
        await base.OnOpen(peer);
        if (int.TryParse(peer.Query["pause"], out var pause))
        {
            await Task.Delay(pause);
        }
    }
}
