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
    [property: Id(3)] IReadOnlyList<string> Extensions);

/// <summary>The HTTP answer to the upgrade and, when accepted, the effects of <c>OnOpen</c>.</summary>
[GenerateSerializer, Immutable]
public sealed record ConnectResult([property: Id(0)] HandshakeAnswer Answer, [property: Id(1)] PeerReply Reply);

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
    [property: Id(2)] bool Closing = false);

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
