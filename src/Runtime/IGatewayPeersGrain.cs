namespace OrleansWs.Internal;

/// <summary>
/// A share of one gateway's open peers (key: the gateway id and a bucket, see <see cref="GatewayPeerLists"/>), kept in
/// grain storage so that the list outlives the silo that holds it: when the gateway's lease runs out, or it leaves,
/// every peer still listed gets <c>OnClose</c>. Peer grains add themselves when they open and leave when they close.
/// </summary>
/// <remarks>
/// Guarantees: <see cref="Add"/> returns once the peer is on record. A removal is written with the next write (or within
/// a second): one lost with a silo leaves a closed peer listed, which <see cref="Close"/> then finds closed and skips.
/// </remarks>
public interface IGatewayPeersGrain : IGrainWithGuidCompoundKey
{
    /// <summary>Records that <paramref name="peerId"/> is open on this gateway; fails once the gateway is being closed.</summary>
    Task Add(string peerId);

    /// <summary>Records that <paramref name="peerId"/> closed. One-way: a closing peer never waits on its gateway's list.</summary>
    [Orleans.Concurrency.OneWay]
    Task Remove(string peerId);

    /// <summary>
    /// The gateway is gone (it died, or it stopped): tells every peer still listed to close with
    /// <paramref name="details"/>, and forgets each one that did. Returns <see langword="true"/> when none is left (the
    /// record is deleted then); a peer that could not be told stays listed for the next call.
    /// </summary>
    Task<bool> Close(CloseDetails details);
}

/// <summary>Where a gateway's peers are listed: <see cref="Buckets"/> grains per gateway, a peer in one by a hash of its id.</summary>
internal static class GatewayPeerLists
{
    /// <summary>How many grains share a gateway's list: each write stores one bucket, about 1/16 of the gateway's peers.</summary>
    public const int Buckets = 16;

    /// <summary>The list <paramref name="peerId"/> of gateway <paramref name="gatewayId"/> is on.</summary>
    public static IGatewayPeersGrain For(IGrainFactory grains, Guid gatewayId, string peerId)
    {
        // FNV-1a: stable across processes and versions, unlike string.GetHashCode.
        var hash = 2166136261u;
        foreach (var c in peerId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return Bucket(grains, gatewayId, (int)(hash % Buckets));
    }

    /// <summary>Every list of gateway <paramref name="gatewayId"/>.</summary>
    public static IEnumerable<IGatewayPeersGrain> All(IGrainFactory grains, Guid gatewayId) =>
        Enumerable.Range(0, Buckets).Select(bucket => Bucket(grains, gatewayId, bucket));

    private static IGatewayPeersGrain Bucket(IGrainFactory grains, Guid gatewayId, int bucket) =>
        grains.GetGrain<IGatewayPeersGrain>(gatewayId, bucket.ToString(System.Globalization.CultureInfo.InvariantCulture), null);
}
