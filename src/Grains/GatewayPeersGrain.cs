using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Storage;
using OrleansWs.Hosting;
using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// A share of one gateway's open peers, in grain storage: an activation lost with its silo comes back with the list,
/// so a gateway that dies later still has every one of its peers closed. Writes are grouped: every change made while a
/// write is in flight goes in the next one, so a burst of connects costs a few writes, not one each. Reentrant for that
/// reason; one write runs at a time, each of the whole bucket.
/// </summary>
[Reentrant]
internal sealed partial class GatewayPeersGrain(ILogger<GatewayPeersGrain> logger) : Grain, IGatewayPeersGrain
{
    // Removals wait at most this long for a write of their own; those not written when the activation goes (or dies)
    // leave closed peers listed, which cost only a skipped call when the list is closed.
    private static readonly TimeSpan RemovalFlush = TimeSpan.FromSeconds(1);
    private PeerState<GatewayPeersState> _stored = null!;
    private GroupedWrites _writes = null!;
    private bool _removed;
    private bool _closing;

    // The live list, which calls change while a write is in flight: each write stores a copy (a storage provider may
    // serialize off this activation's thread).
    private HashSet<string> Peers { get; set; } = [];

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var storage = ServiceProvider.GetRequiredKeyedService<IGrainStorage>(OrleansWsStorage.PeerState);
        _stored = new PeerState<GatewayPeersState>(storage, this.GetGrainId(), logger, OrleansWsStorage.GatewayPeersStateName);
        // A list that cannot be read fails the activation, and with it every connect through this gateway's bucket:
        // a peer that could not be listed must not open.
        await _stored.ReadStateAsync();
        Peers = [.. _stored.State.Peers];
        _writes = new GroupedWrites(
            () =>
            {
                _removed = false;
                _stored.State = new GatewayPeersState { Peers = [.. Peers] };
                return _stored.WriteStateAsync();
            },
            () =>
            {
                // The stored ETag is unknown now: the next activation reads the record afresh.
                _removed = true;
                DeactivateOnIdle();
            });
        this.RegisterGrainTimer(FlushRemovals, new GrainTimerCreationOptions(RemovalFlush, RemovalFlush) { Interleave = true });
    }

    public Task Add(string peerId)
    {
        if (_closing)
        {
            // The gateway is gone: a peer opening on it now must not be listed where no close will find it.
            throw new InvalidOperationException($"Gateway {this.GetPrimaryKey(out _)} has left the cluster.");
        }

        // An Add of a peer already listed: on record once the writes in flight have landed.
        return Peers.Add(peerId) ? _writes.Write() : _writes.Written();
    }

    public Task Remove(string peerId)
    {
        _removed |= Peers.Remove(peerId);
        return Task.CompletedTask;
    }

    public async Task<bool> Close(CloseDetails details)
    {
        _closing = true;
        var gatewayId = this.GetPrimaryKey(out _);
        var peers = Peers.ToArray();
        if (peers.Length > 0)
        {
            LogClosing(gatewayId, peers.Length, details.Code);
        }

        // In parallel: one slow peer grain must not hold up the others' OnClose.
        var told = await Task.WhenAll(peers.Select(async peerId =>
        {
            try
            {
                await GrainFactory.GetGrain<IPeerGrain>(PeerIds.ToGrainId(peerId)).GatewayGone(gatewayId, details);
                return peerId;
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException)
            {
                LogPeerNotTold(ex, peerId);
                return null;
            }
        }));
        foreach (var peerId in told)
        {
            if (peerId is not null)
            {
                Peers.Remove(peerId);
            }
        }

        if (Peers.Count > 0)
        {
            // Asked again by the registry: those left are still on record.
            await _writes.Write();
            return false;
        }

        // After every write already asked for (grouped removals included; none starts once closing), or a write would
        // land after the delete with a stale ETag.
        await GroupedWrites.Settled(_writes.Written());
        await GroupedWrites.Settled(_writes.Current);
        try
        {
            if (_stored.RecordExists)
            {
                await _stored.ClearStateAsync();
            }
        }
        finally
        {
            // Cleared, or unsure of the stored ETag: either way the next call reads afresh.
            DeactivateOnIdle();
        }

        return true;
    }

    private Task FlushRemovals() => _removed && !_closing && !_writes.Pending ? _writes.Write() : Task.CompletedTask;

    [LoggerMessage(EventId = 120, EventName = "GatewayPeersClosing", Level = LogLevel.Warning, Message = "Gateway {GatewayId} is gone; closing {Count} of its peers with {Code}.")]
    private partial void LogClosing(Guid gatewayId, int count, int code);

    [LoggerMessage(EventId = 121, EventName = "PeerNotTold", Level = LogLevel.Warning, Message = "Peer {PeerId} of a gone gateway could not be closed yet; it stays listed and is tried again.")]
    private partial void LogPeerNotTold(Exception exception, string peerId);
}

/// <summary>A bucket of a gateway's open peers, as written to storage.</summary>
[GenerateSerializer]
internal sealed class GatewayPeersState
{
    [Id(0)] public HashSet<string> Peers { get; set; } = [];
}
