namespace OrleansWs.Internal;

/// <summary>What a gateway sends when a client asks to connect.</summary>
/// <param name="Request">The upgrade request.</param>
/// <param name="Gateway">The delivery path of the gateway that holds the socket.</param>
/// <param name="GatewayId">That gateway's id, under which it holds its lease.</param>
/// <param name="Extensions">The extensions the gateway negotiates if the peer is accepted (e.g. <c>permessage-deflate</c>).</param>
[GenerateSerializer, Immutable]
public sealed record ConnectRequest(
    [property: Id(0)] UpgradeRequest Request,
    [property: Id(1)] IGatewayDelivery Gateway,
    [property: Id(2)] Guid GatewayId,
    [property: Id(3)] IReadOnlyList<string> Extensions)
{
    /// <summary>The endpoint's resume settings, when the client negotiated the resume protocol; <see langword="null"/> otherwise.</summary>
    [Id(4)] public ResumeSettings? Resume { get; init; }
}

/// <summary>The HTTP answer to the upgrade and, when accepted, the effects of <c>OnOpen</c>.</summary>
[GenerateSerializer, Immutable]
public sealed record ConnectResult([property: Id(0)] HandshakeAnswer Answer, [property: Id(1)] PeerReply Reply)
{
    /// <summary>For a resumable connection: what its first frame tells the client.</summary>
    [Id(2)] public ResumeWelcome? Welcome { get; init; }
}

/// <summary>An endpoint's resume options, as its peers' grains keep them (docs/protocol.md).</summary>
/// <param name="Window">How long a detached peer waits for its client before it closes.</param>
/// <param name="MaxFrames">Unacknowledged frames the peer's outbox keeps.</param>
/// <param name="MaxBytes">Their bytes.</param>
[GenerateSerializer, Immutable]
public sealed record ResumeSettings([property: Id(0)] TimeSpan Window, [property: Id(1)] int MaxFrames, [property: Id(2)] long MaxBytes);

/// <summary>What a resumable connection's first frame tells the client, and the epoch that fences the connection.</summary>
/// <param name="Token">The resume token (the peer's key and its secret).</param>
/// <param name="Recovered">Whether every frame the client had not seen is still here (always on a new peer).</param>
/// <param name="LastSeq">The peer sequence the connection's opening frames bring the client to (what its gateway has shown).</param>
/// <param name="Applied">The last client number applied.</param>
/// <param name="Epoch">The connection's epoch: calls that carry an older one are refused.</param>
/// <param name="Window">The resume window.</param>
/// <param name="Topics">On a resume, the peer's topics, to subscribe on the new gateway before the 101.</param>
[GenerateSerializer, Immutable]
public sealed record ResumeWelcome(
    [property: Id(0)] string Token,
    [property: Id(1)] bool Recovered,
    [property: Id(2)] long LastSeq,
    [property: Id(3)] long Applied,
    [property: Id(4)] long Epoch,
    [property: Id(5)] TimeSpan Window,
    [property: Id(6)] IReadOnlyList<string> Topics);

/// <summary>A client's request to resume a detached (or still attached) peer on a new connection.</summary>
/// <param name="Secret">The secret part of the resume token.</param>
/// <param name="LastSeq">The last peer sequence the client received.</param>
/// <param name="Request">The new upgrade request (its user must be the peer's).</param>
/// <param name="Gateway">The delivery path of the gateway that holds the new socket.</param>
/// <param name="GatewayId">That gateway's id.</param>
[GenerateSerializer, Immutable]
public sealed record ResumeRequest(
    [property: Id(0)] string Secret,
    [property: Id(1)] long LastSeq,
    [property: Id(2)] UpgradeRequest Request,
    [property: Id(3)] IGatewayDelivery Gateway,
    [property: Id(4)] Guid GatewayId);

/// <summary>
/// What the gateway needs of the <c>upgrade</c> hook's decision to answer the request: everything but the
/// peer's context, which stays in the grain (a gateway need not know its type).
/// </summary>
/// <param name="Accepted">Whether the peer is accepted (101).</param>
/// <param name="Status">The rejection's status.</param>
/// <param name="ReasonPhrase">The rejection's reason phrase, or <see langword="null"/> for the standard one.</param>
/// <param name="Headers">Response headers, in order; a name may repeat.</param>
/// <param name="Body">The rejection's body.</param>
/// <param name="Protocol">The chosen sub-protocol.</param>
/// <param name="Namespace">The accepted peer's namespace.</param>
[GenerateSerializer, Immutable]
public sealed record HandshakeAnswer(
    [property: Id(0)] bool Accepted,
    [property: Id(1)] int Status,
    [property: Id(2)] string? ReasonPhrase,
    [property: Id(3)] IReadOnlyList<KeyValuePair<string, string>> Headers,
    [property: Id(4)] string? Body,
    [property: Id(5)] string? Protocol,
    [property: Id(6)] string Namespace)
{
    /// <summary>A rejection with <paramref name="status"/> and a plain-text <paramref name="body"/>.</summary>
    public static HandshakeAnswer Reject(int status, string body) => new(false, status, null, [], body, null, "");
}

/// <summary>Messages a gateway read from one socket, in order.</summary>
/// <param name="Messages">The messages, oldest first.</param>
/// <param name="BufferedAmount">Bytes waiting in the peer's send queue when the batch left the gateway.</param>
/// <param name="Closing">The connection's end was decided when the batch left (the client's close frame came, or a close
/// was asked for): the messages were read before it, and the peer's sends will not be delivered.</param>
[GenerateSerializer, Immutable]
public sealed record InboundBatch(
    [property: Id(0)] IReadOnlyList<Message> Messages,
    [property: Id(1)] long BufferedAmount,
    [property: Id(2)] bool Closing = false)
{
    /// <summary>On a resumable connection, the client number of the first message (the rest follow it); 0 otherwise.</summary>
    [Id(3)] public long FirstNumber { get; init; }

    /// <summary>On a resumable connection, its epoch; 0 otherwise.</summary>
    [Id(4)] public long Epoch { get; init; }
}

/// <summary>
/// A subscribe (<see langword="true"/>) or unsubscribe a hook asked for, with the peer's namespace (a subscribe in
/// <c>OnOpen</c> reaches the gateway before the connect's answer, which also carries it).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record TopicChange([property: Id(0)] string Topic, [property: Id(1)] bool Subscribe, [property: Id(2)] string? Namespace = null);

/// <summary>A close a hook asked for.</summary>
/// <param name="Code">The close code.</param>
/// <param name="Reason">The close reason.</param>
/// <param name="Terminate">Drop the connection without a close frame instead.</param>
[GenerateSerializer, Immutable]
public sealed record CloseCommand([property: Id(0)] int Code, [property: Id(1)] string Reason, [property: Id(2)] bool Terminate);

/// <summary>
/// The effects of a grain call on the calling peer's own connection, applied by its gateway in
/// this order: topic changes, frames, close.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record PeerReply(
    [property: Id(0)] IReadOnlyList<Message> Frames,
    [property: Id(1)] IReadOnlyList<TopicChange> TopicChanges,
    [property: Id(2)] CloseCommand? Close)
{
    /// <summary>No effect.</summary>
    public static PeerReply Empty { get; } = new([], [], null);

    /// <summary>
    /// Names effects another peer's outbox released (a send): a gateway that already applied this name, or a later
    /// one of the same write, applies them no second time.
    /// </summary>
    [Id(3)] public EffectId? Once { get; init; }

    /// <summary>On a resumable peer, the peer sequence of each frame; <see langword="null"/> otherwise.</summary>
    [Id(4)] public long[]? Seqs { get; init; }

    /// <summary>On a resumable peer, the last client number applied (0: none).</summary>
    [Id(5)] public long Applied { get; init; }

    /// <summary>When not 0, only the connection of this epoch applies the effects (a takeover's close of the old one).</summary>
    [Id(6)] public long Epoch { get; init; }

    /// <summary>
    /// On a resumable peer, the sequence handed out before the first frame: its gateway shows the frames only after that
    /// one (replies and sends travel apart, and must reach the client in sequence order).
    /// </summary>
    [Id(7)] public long PrevSeq { get; init; }
}

/// <summary>
/// Names one effect a hook call wrote with its peer's state (its outbox), so that releasing the outbox again after a
/// crash does not repeat it: the <paramref name="Index"/>th publish, or send, of one write (<paramref name="Write"/>) of
/// one peer's record (<paramref name="Publisher"/>). The topic log appends a named publish once; a gateway shows a
/// named send once.
/// </summary>
/// <param name="Publisher">The id of the peer whose hook made the effect.</param>
/// <param name="Write">Names the write (or the close) the effect belongs to.</param>
/// <param name="Index">The effect's place among the write's publishes (for a publish) or sends (for a send), from 0, in the order the hooks made them.</param>
[GenerateSerializer, Immutable]
public readonly record struct EffectId([property: Id(0)] string Publisher, [property: Id(1)] Guid Write, [property: Id(2)] int Index);

/// <summary>
/// A message published to a topic; every subscriber but <see cref="ExcludePeerId"/> gets it (only those
/// whose namespace is <see cref="Namespace"/>, when set: one stream per topic, filtered on each gateway).
/// <see cref="EndOfPublish"/> marks the last message of its publish: a gateway that queued it has
/// queued the whole publish (what the causal barrier waits for). The topic's queue sets
/// <see cref="Previous"/> on a publish's first message: the position of the topic's publish before it,
/// so that a subscription sees a gap instead of missing a publish silently. A <see cref="Marker"/>
/// carries no message for anyone: a subscription that sees its own knows it is in place.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record TopicEvent(
    [property: Id(0)] Message Message,
    [property: Id(1)] string? ExcludePeerId,
    [property: Id(2)] bool EndOfPublish = true,
    [property: Id(3)] long Previous = long.MinValue,
    [property: Id(4)] Guid Marker = default,
    [property: Id(5)] string? Namespace = null)
{
    /// <summary>No publish of the topic came before this one (that its queue knows of).</summary>
    public const long None = long.MinValue;
}
