using Orleans.Concurrency;

namespace OrleansWs.Internal;

/// <summary>
/// The grain of one connected peer, as its gateway and the rest of the cluster see it. A handler
/// class (<c>WebSocketHandler&lt;TState&gt;</c>) implements it; its grain key is the peer's unique id.
/// </summary>
/// <remarks>
/// Guarantees: the gateway calls <see cref="Connect"/> once, then <see cref="Receive"/> with the
/// peer's messages strictly in the order the socket delivered them (never two calls at once), then
/// <see cref="Closed"/> (or <see cref="ClosedByError"/>) until one call of them has completed: a close is idempotent,
/// so a gateway repeats one whose answer it did not get. <c>OnClose</c> runs once per peer, again only when the silo
/// running it died first (its <see cref="CloseDetails.Attempt"/> then counts up). Effects of a call (frames for this peer, a
/// close) come back in its result, after the peer's state has been written; a hook's subscribes and unsubscribes reach
/// the gateway while it runs (<see cref="IGatewayDelivery.Apply"/>), each in place when the hook's call returns.
/// </remarks>
public interface IPeerGrain : IWebSocketHandler
{
    /// <summary>Runs <c>OnUpgrade</c> and, when it accepts, <c>OnOpen</c>.</summary>
    Task<ConnectResult> Connect(ConnectRequest request);

    /// <summary>
    /// Moves a resumable peer to a new connection (docs/protocol.md): answers the 101 with the peer's protocol and the
    /// frames after <see cref="ResumeRequest.LastSeq"/>, or refuses (a rejection) without saying whether the peer exists.
    /// An older connection still attached is closed and fenced.
    /// </summary>
    Task<ConnectResult> Resume(ResumeRequest request);

    /// <summary>
    /// A resumable connection of <paramref name="epoch"/> ended: with <paramref name="detach"/>, the peer waits for its
    /// client for the resume window; without, it closes as <see cref="Closed"/> does. A stale epoch is ignored.
    /// </summary>
    Task Ended(long epoch, CloseDetails details, bool detach);

    /// <summary>The client of a resumable connection has every peer frame up to <paramref name="seq"/>.</summary>
    [AlwaysInterleave, OneWay]
    Task Ack(long epoch, long seq);

    /// <summary>Runs <c>OnMessage</c> for each message of the batch, in order.</summary>
    Task<PeerReply> Receive(InboundBatch batch);

    /// <summary>Runs <c>OnClose</c>, then forgets the peer (its state is cleared).</summary>
    Task Closed(CloseDetails details);

    /// <summary>
    /// The client broke the protocol and the gateway closed the socket (<paramref name="details"/> says how: 1002,
    /// 1007, 1009): runs <c>OnError</c>, then <c>OnClose</c>, then forgets the peer. Used in place of <see cref="Closed"/>
    /// (a method of its own, so that a gateway of the version before still reaches <see cref="Closed"/>).
    /// </summary>
    Task ClosedByError(CloseDetails details);

    /// <summary>
    /// The gateway <paramref name="gatewayId"/> is gone: it lost its lease (it died; <paramref name="details"/> is 1006)
    /// or stopped (1001) with this peer still listed. If this peer's socket was there, runs <c>OnClose</c> with
    /// <paramref name="details"/> and forgets the peer; a peer already closed answers at once.
    /// </summary>
    Task GatewayGone(Guid gatewayId, CloseDetails details);

    /// <summary>Sends a message to this peer from anywhere, and says where it found the peer (nothing is sent when it is not open).</summary>
    [AlwaysInterleave]
    Task<PeerPresence> Send(Message message);

    /// <summary>Whether this peer is open, and with a connection or detached (waiting for a resume).</summary>
    [AlwaysInterleave]
    Task<PeerPresence> GetPresence();

    /// <summary>
    /// Sends a message another peer's outbox released: its gateway shows it once, also when that outbox is released
    /// again after a crash (<paramref name="id"/> names it); <see langword="false"/> when the peer is not open.
    /// </summary>
    [AlwaysInterleave]
    Task<bool> SendOnce(Message message, EffectId id);

    /// <summary>Closes this peer from anywhere; <see langword="false"/> when the peer is not open.</summary>
    [AlwaysInterleave]
    Task<bool> Close(int code, string reason);

    /// <summary>Drops this peer's connection without a close frame; <see langword="false"/> when the peer is not open.</summary>
    [AlwaysInterleave]
    Task<bool> Terminate();

    /// <summary>The topics this peer is subscribed to, or <see langword="null"/> when it is not open.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>?> GetTopics();
}
