namespace OrleansWs.Internal;

/// <summary>What a gateway sends when a client asks to connect.</summary>
/// <param name="Request">The upgrade request.</param>
/// <param name="Gateway">The delivery path of the gateway that holds the socket.</param>
/// <param name="GatewayId">That gateway's id, under which it holds its lease.</param>
[GenerateSerializer, Immutable]
public sealed record ConnectRequest(
    [property: Id(0)] UpgradeRequest Request,
    [property: Id(1)] IGatewayDelivery Gateway,
    [property: Id(2)] Guid GatewayId);

/// <summary>The upgrade decision and, when accepted, the effects of <c>OnOpen</c>.</summary>
[GenerateSerializer, Immutable]
public sealed record ConnectResult([property: Id(0)] UpgradeDecision Decision, [property: Id(1)] PeerReply Reply);

/// <summary>Messages a gateway read from one socket, in order.</summary>
/// <param name="Messages">The messages, oldest first.</param>
/// <param name="BufferedAmount">Bytes waiting in the peer's send queue when the batch left the gateway.</param>
[GenerateSerializer, Immutable]
public sealed record InboundBatch([property: Id(0)] IReadOnlyList<Message> Messages, [property: Id(1)] long BufferedAmount);

/// <summary>A subscribe (<see langword="true"/>) or unsubscribe a hook asked for.</summary>
[GenerateSerializer, Immutable]
public sealed record TopicChange([property: Id(0)] string Topic, [property: Id(1)] bool Subscribe);

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
}

/// <summary>
/// A message published to a topic; every subscriber but <see cref="ExcludePeerId"/> gets it.
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
    [property: Id(4)] Guid Marker = default)
{
    /// <summary>No publish of the topic came before this one (that its queue knows of).</summary>
    public const long None = long.MinValue;
}
