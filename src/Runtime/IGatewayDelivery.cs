using Orleans.Concurrency;

namespace OrleansWs.Internal;

/// <summary>
/// One gateway's delivery path: the only way the cluster reaches the sockets that gateway holds.
/// A gateway registers one such observer; peer grains keep a reference to their gateway's.
/// </summary>
/// <remarks>
/// Deliveries are one-way: a dead gateway never blocks a grain. A delivery for a peer the gateway no
/// longer holds is dropped (the peer's <c>OnClose</c> is already on its way).
/// </remarks>
public interface IGatewayDelivery : IGrainObserver
{
    /// <summary>Queues <paramref name="message"/> on the socket of <paramref name="peerId"/>.</summary>
    [OneWay]
    Task Deliver(string peerId, Message message);

    /// <summary>Closes the socket of <paramref name="peerId"/> with a close frame.</summary>
    [OneWay]
    Task Close(string peerId, int code, string reason);

    /// <summary>Aborts the socket of <paramref name="peerId"/> without a close frame.</summary>
    [OneWay]
    Task Terminate(string peerId);

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

    /// <summary>The ids of the open peers this gateway holds for the handler grain type <paramref name="handlerType"/>.</summary>
    Task<IReadOnlyList<string>> GetOpenPeers(string handlerType);
}
