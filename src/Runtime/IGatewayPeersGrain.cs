namespace OrleansWs.Internal;

/// <summary>
/// The open peers of one gateway (key: the gateway id), so that when its lease runs out every one of
/// them still gets <c>OnClose</c> (1006). Peer grains add themselves when they open and leave when they close.
/// </summary>
public interface IGatewayPeersGrain : IGrainWithGuidKey
{
    /// <summary>Records that <paramref name="peerId"/> is open on this gateway.</summary>
    Task Add(string peerId);

    /// <summary>Records that <paramref name="peerId"/> closed. One-way: a closing peer never waits on its gateway's list.</summary>
    [Orleans.Concurrency.OneWay]
    Task Remove(string peerId);

    /// <summary>The gateway left gracefully (its peers closed on their own): drops the list. One-way: the registry never waits on it.</summary>
    [Orleans.Concurrency.OneWay]
    Task Forget();

    /// <summary>The gateway is gone: tells every peer still listed, then forgets them. Returns how many were told.</summary>
    Task<int> Expire();
}
