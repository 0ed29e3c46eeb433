using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Storage;
using OrleansWs.Hosting;
using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// One namespace's detached peers, in grain storage (see <see cref="IDetachedPeersGrain"/>). Reentrant, so that the
/// detaches of a gateway that died with thousands of peers share a few writes instead of queueing one each.
/// </summary>
[Reentrant]
internal sealed class DetachedPeersGrain(ILogger<DetachedPeersGrain> logger) : Grain, IDetachedPeersGrain
{
    private PeerState<DetachedPeersState> _stored = null!;
    private GroupedWrites _writes = null!;

    // The live list, which calls change while a write is in flight: each write stores a copy.
    private Dictionary<string, DateTime> Peers { get; set; } = [];

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var storage = ServiceProvider.GetRequiredKeyedService<IGrainStorage>(OrleansWsStorage.PeerState);
        _stored = new PeerState<DetachedPeersState>(storage, this.GetGrainId(), logger, OrleansWsStorage.DetachedPeersStateName);
        // A list that cannot be read fails the activation: a listing then says it is not whole, and a detach logs it.
        await _stored.ReadStateAsync();
        Peers = new(_stored.State.Peers, StringComparer.Ordinal);
        _writes = new GroupedWrites(
            () =>
            {
                var now = DateTime.UtcNow;
                _stored.State = new DetachedPeersState { Peers = Peers.Where(p => p.Value > now).ToDictionary(StringComparer.Ordinal) };
                return _stored.WriteStateAsync();
            },
            DeactivateOnIdle);
    }

    public Task Add(string peerId, DateTime untilUtc)
    {
        DropEnded();
        Peers[peerId] = untilUtc;
        return _writes.Write();
    }

    public Task Remove(string peerId) => Peers.Remove(peerId) ? _writes.Write() : _writes.Written();

    public Task<IReadOnlyList<string>> List()
    {
        DropEnded();
        IReadOnlyList<string> listed = [.. Peers.Keys.Order(StringComparer.Ordinal)];
        return Task.FromResult(listed);
    }

    // Entries whose window ended (their removal never came: the peer's silo died first) go; the next write drops them too.
    private void DropEnded()
    {
        var now = DateTime.UtcNow;
        foreach (var (peerId, until) in Peers)
        {
            if (until <= now)
            {
                Peers.Remove(peerId);
            }
        }
    }
}

/// <summary>A namespace's detached peers, each with the end of its resume window, as written to storage.</summary>
[GenerateSerializer]
internal sealed class DetachedPeersState
{
    [Id(0)] public Dictionary<string, DateTime> Peers { get; set; } = [];
}
