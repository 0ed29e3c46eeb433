using Microsoft.Extensions.Logging;
using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// One gateway's open peers, in memory. If this activation is lost together with its gateway (two
/// faults at once), those peers' grains are not told; a single fault of either is covered. Kept
/// alive while its gateway lives, however quiet its peers are: losing the list would lose the guard.
/// </summary>
[KeepAlive]
internal sealed partial class GatewayPeersGrain(ILogger<GatewayPeersGrain> logger) : Grain, IGatewayPeersGrain
{
    private readonly HashSet<string> _peers = new(StringComparer.Ordinal);
    private bool _ended;

    public Task Add(string peerId)
    {
        if (_ended)
        {
            // The gateway is gone: a peer opening on it now must not be listed where no expiry will find it.
            throw new InvalidOperationException($"Gateway {this.GetPrimaryKey()} has left the cluster.");
        }

        _peers.Add(peerId);
        return Task.CompletedTask;
    }

    public Task Remove(string peerId)
    {
        _peers.Remove(peerId);
        return Task.CompletedTask;
    }

    public Task Forget()
    {
        _ended = true;
        _peers.Clear();
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public async Task<int> Expire()
    {
        var gatewayId = this.GetPrimaryKey();
        var peers = _peers.ToArray();
        _peers.Clear();
        _ended = true;
        LogExpiring(gatewayId, peers.Length);
        // In parallel: one slow peer grain must not hold up the others' OnClose.
        await Task.WhenAll(peers.Select(async peerId =>
        {
            try
            {
                await GrainFactory.GetGrain<IPeerGrain>(PeerIds.ToGrainId(peerId)).GatewayLost(gatewayId);
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException)
            {
                LogPeerNotTold(ex, peerId);
            }
        }));
        DeactivateOnIdle();
        return peers.Length;
    }

    [LoggerMessage(EventId = 120, EventName = "GatewayExpired", Level = LogLevel.Warning, Message = "Gateway {GatewayId} lost its lease; closing its {Count} peers with 1006.")]
    private partial void LogExpiring(Guid gatewayId, int count);

    [LoggerMessage(EventId = 121, EventName = "PeerNotTold", Level = LogLevel.Error, Message = "Peer {PeerId} of an expired gateway could not be closed.")]
    private partial void LogPeerNotTold(Exception exception, string peerId);
}
