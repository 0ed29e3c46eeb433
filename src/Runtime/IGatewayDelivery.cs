using Orleans.Concurrency;

namespace OrleansWs.Internal;

/// <summary>
/// One gateway's delivery path: the only way the cluster reaches the sockets that gateway holds.
/// A gateway registers one such observer; peer grains keep a reference to their gateway's.
/// </summary>
/// <remarks>
/// A delivery completes once the gateway has queued its effects on the socket, so that a caller that
/// awaits it knows they are ahead of anything it does next; callers bound the wait, so a dead gateway
/// holds no grain for long. A delivery for a peer the gateway no longer holds is dropped (the peer's
/// <c>OnClose</c> is already on its way).
/// </remarks>
public interface IGatewayDelivery : IGrainObserver
{
    /// <summary>
    /// Applies <paramref name="effects"/> to the socket of <paramref name="peerId"/> as the gateway applies a
    /// call's reply (topic changes, frames, close); completes once they are queued. <see langword="false"/>
    /// when this gateway does not hold the peer.
    /// </summary>
    /// <remarks>Interleaved: a topic change waits for the cluster, and must not hold up every other peer's deliveries.</remarks>
    [AlwaysInterleave]
    Task<bool> Apply(string peerId, PeerReply effects);

    /// <summary>Bytes waiting in the send queue of <paramref name="peerId"/> right now; -1 when this gateway does not hold it.</summary>
    Task<long> GetBufferedAmount(string peerId);

    /// <summary>
    /// Completes with <see langword="true"/> once at most <paramref name="threshold"/> bytes wait in the send queue of
    /// <paramref name="peerId"/>, or with <see langword="false"/> after <paramref name="timeout"/>, when the socket
    /// ends first, or when this gateway does not hold it.
    /// </summary>
    /// <remarks>Interleaved: an observer serves its calls one at a time, and a wait must not hold up every other peer's deliveries.</remarks>
    [AlwaysInterleave]
    Task<bool> WaitForDrain(string peerId, long threshold, TimeSpan timeout);

    /// <summary>The ids of the open peers this gateway holds in the namespace <paramref name="namespace"/>, in id order.</summary>
    Task<IReadOnlyList<string>> GetOpenPeers(string @namespace);
}
