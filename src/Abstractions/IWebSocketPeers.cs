namespace OrleansWs;

/// <summary>
/// Reaches peers from anywhere in the cluster: an HTTP endpoint, another grain, a background job.
/// Registered in the services of every silo and gateway that uses OrleansWs.
/// </summary>
/// <remarks>
/// Delivery is at most once: a message for a peer whose gateway dies on the way is lost with that
/// connection. Messages to one peer from one caller arrive in the order they were sent. A send or close
/// completes once the peer's gateway has queued it. Inside a hook (a handler's <c>Peers</c>) sends,
/// closes and publishes are effects of the hook: they leave after its state is written, in order, and
/// before its reply.
/// </remarks>
public interface IWebSocketPeers
{
    /// <summary>
    /// Publishes <paramref name="message"/> to every subscriber of <paramref name="topic"/> on every gateway, in
    /// every namespace (crossws' adapter <c>publish</c>).
    /// </summary>
    Task Publish(string topic, Message message);

    /// <summary>
    /// Publishes <paramref name="message"/> to the subscribers of <paramref name="topic"/> whose namespace is
    /// <paramref name="namespace"/>, on every gateway: what a peer of that namespace publishing to the topic
    /// reaches (the sender aside).
    /// </summary>
    Task Publish(string topic, Message message, string @namespace);

    /// <summary>Sends <paramref name="message"/> to the peer <paramref name="peerId"/>; <see langword="false"/> when it is not open.</summary>
    Task<bool> Send(string peerId, Message message);

    /// <summary>
    /// Sends <paramref name="message"/> to the peer <paramref name="peerId"/> and says where it found the peer: with a
    /// connection, detached (waiting for a resume: the message is kept for it), or not open (nothing was sent).
    /// </summary>
    Task<PeerPresence> SendTo(string peerId, Message message);

    /// <summary>Closes the peer <paramref name="peerId"/>; <see langword="false"/> when it is not open.</summary>
    Task<bool> Close(string peerId, int code = CloseCodes.Normal, string reason = "");

    /// <summary>Drops the peer's connection without a close frame; <see langword="false"/> when it is not open.</summary>
    Task<bool> Terminate(string peerId);

    /// <summary>
    /// The ids of the open peers whose namespace is <paramref name="namespace"/> (by default their upgrade
    /// path, e.g. <c>/ws/chat</c>) on every live gateway, oldest connection first (ids are time-ordered).
    /// Asks each gateway once; a gateway that does not answer within 2 s is left out (and logged), and the listing
    /// says so (<see cref="PeerListing.IsComplete"/>). Peers that are detached (waiting for a resume) are listed apart,
    /// in <see cref="PeerListing.Detached"/>.
    /// </summary>
    Task<PeerListing> GetPeers(string @namespace);

    /// <summary>The topics of the peer <paramref name="peerId"/>, or <see langword="null"/> when it is not open.</summary>
    Task<IReadOnlyList<string>?> GetTopics(string peerId);
}
