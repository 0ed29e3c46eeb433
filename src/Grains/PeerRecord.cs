using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// What a peer grain persists: the connection facts the runtime needs to survive a deactivation
/// (who the peer is, where its socket lives, its topics) and the handler's own state.
/// </summary>
[GenerateSerializer]
public sealed class PeerRecord<TState> where TState : class, new()
{
    /// <summary>The peer id; <see langword="null"/> until the peer is open.</summary>
    [Id(0)] public string? PeerId { get; set; }

    /// <summary>The upgrade request the peer connected with.</summary>
    [Id(1)] public UpgradeRequest? Request { get; set; }

    /// <summary>The negotiated sub-protocol.</summary>
    [Id(2)] public string? Protocol { get; set; }

    /// <summary>The context of a peer stored before contexts could be any value (read, never written).</summary>
    [Id(3)] public IReadOnlyDictionary<string, string>? LegacyContext { get; set; }

    /// <summary>The topics the peer is subscribed to, in subscription order.</summary>
    [Id(4)] public List<string> Topics { get; set; } = [];

    /// <summary>The delivery path of the gateway that holds the socket.</summary>
    [Id(5)] public IGatewayDelivery? Gateway { get; set; }

    /// <summary>The handler's state.</summary>
    [Id(6)] public TState State { get; set; } = new();

    /// <summary>The id of the gateway that holds the socket (its lease).</summary>
    [Id(7)] public Guid GatewayId { get; set; }

    /// <summary>The peer's namespace.</summary>
    [Id(8)] public string? Namespace { get; set; }

    /// <summary>The extensions the gateway negotiated.</summary>
    [Id(9)] public IReadOnlyList<string>? Extensions { get; set; }

    /// <summary>
    /// The peer's context (what the upgrade hook gave, or a later hook set) in the Orleans serializer's format, so it
    /// reads back as the type it was whatever serializer the storage uses; <see langword="null"/> for none.
    /// </summary>
    [Id(10)] public byte[]? Context { get; set; }

    /// <summary>
    /// How the peer's connection ended, once its close began (written before <c>OnClose</c> runs, for a handler that
    /// has one): a peer with this is closing, not open, and a close that another silo finishes runs the hook with it.
    /// </summary>
    [Id(11)] public CloseDetails? Closing { get; set; }

    /// <summary>How many runs of <c>OnClose</c> have begun (see <see cref="CloseDetails.Attempt"/>).</summary>
    [Id(12)] public int CloseAttempts { get; set; }

    /// <summary>
    /// The effects on the cluster (publishes, sends and closes to other peers) of the hook call whose state this write
    /// holds (its outbox): released after the write, and again by an activation that reads the record after a crash,
    /// which the topic log and the target's gateway take once (<see cref="EffectId"/>).
    /// </summary>
    [Id(13)] internal PeerOutbox? Outbox { get; set; }

    /// <summary>Names the effects of <c>OnClose</c>, written with <see cref="Closing"/>: a run again takes effect once.</summary>
    [Id(14)] internal Guid CloseWrite { get; set; }

    /// <summary>For a peer whose connection negotiated resume: its token, epoch, sequences and outbox (docs/protocol.md).</summary>
    [Id(15)] internal PeerResume? Resume { get; set; }
}

/// <summary>What lets a resumable peer outlive its socket, kept with its state.</summary>
[GenerateSerializer]
internal sealed class PeerResume
{
    /// <summary>SHA-256 of the resume token's secret.</summary>
    [Id(0)] public byte[] TokenHash { get; set; } = [];

    /// <summary>The authenticated user's name the peer opened with, or <see langword="null"/>.</summary>
    [Id(1)] public string? User { get; set; }

    /// <summary>The current connection's epoch; calls of an older one are refused.</summary>
    [Id(2)] public long Epoch { get; set; }

    /// <summary>The next peer sequence to hand out.</summary>
    [Id(3)] public long NextSeq { get; set; } = 1;

    /// <summary>The peer's own frames the client has not acknowledged, oldest first (replaced whole, never changed in place).</summary>
    [Id(4)] public OutboxFrame[] Frames { get; set; } = [];

    /// <summary>The highest sequence dropped from <see cref="Frames"/> unacknowledged (its bounds): a resume from below it did not recover.</summary>
    [Id(5)] public long TrimmedThrough { get; set; }

    /// <summary>The last client number applied.</summary>
    [Id(6)] public long Applied { get; set; }

    /// <summary>When the resume window of a detached peer ends; <see langword="null"/> while a connection is attached.</summary>
    [Id(7)] public DateTime? DetachedUntil { get; set; }

    /// <summary>The endpoint's resume settings.</summary>
    [Id(8)] public ResumeSettings Settings { get; set; } = new(TimeSpan.FromMinutes(2), 1024, 1 << 20);

    /// <summary>The highest sequence the client acknowledged, as last written.</summary>
    [Id(9)] public long Acked { get; set; }

    /// <summary>The last sequence handed out (the one before <see cref="NextSeq"/>, unless an activation started higher).</summary>
    [Id(10)] public long LastSeq { get; set; }

    /// <summary>The named sends (from other peers' outboxes) taken lately, so that one released again is not shown twice.</summary>
    [Id(11)] public TakenSend[] Taken { get; set; } = [];
}

/// <summary>A named send a resumable peer took, and when.</summary>
[GenerateSerializer, Immutable]
internal readonly record struct TakenSend([property: Id(0)] EffectId Id, [property: Id(1)] DateTime At);

/// <summary>One frame of a resumable peer's own, with its sequence.</summary>
[GenerateSerializer, Immutable]
internal sealed record OutboxFrame([property: Id(0)] long Seq, [property: Id(1)] Message Message);

/// <summary>One write's effects on the cluster, kept with the state they belong to.</summary>
/// <param name="Write">Names the write; with the publisher and an index it names each effect (<see cref="EffectId"/>).</param>
/// <param name="Effects">The effects, in the order the hooks made them.</param>
/// <param name="Written">When the write was made: an outbox older than the log remembers its ids for is not released again.</param>
[GenerateSerializer, Immutable]
internal sealed record PeerOutbox([property: Id(0)] Guid Write, [property: Id(1)] OutboxEffect[] Effects, [property: Id(2)] DateTime Written);

/// <summary>One effect of an outbox: a publish to <see cref="Topic"/>, or a send or close to <see cref="PeerId"/>.</summary>
[GenerateSerializer, Immutable]
internal sealed record OutboxEffect(
    [property: Id(0)] string? Topic,
    [property: Id(1)] Message[] Messages,
    [property: Id(2)] string? ExcludePeerId,
    [property: Id(3)] string? Namespace,
    [property: Id(4)] string? PeerId = null,
    [property: Id(5)] CloseCommand? Close = null)
{
    public static OutboxEffect Of(ClusterEffect effect) => effect switch
    {
        ClusterEffect.Publish p => new(p.Topic, [.. p.Messages], p.Options.ExcludePeerId, p.Options.Namespace),
        ClusterEffect.Send s => new(null, [s.Message], null, null, s.PeerId),
        ClusterEffect.Close c => new(null, [], null, null, c.PeerId, c.Command),
        _ => throw new ArgumentOutOfRangeException(nameof(effect)),
    };

    public ClusterEffect ToEffect() => (Topic, PeerId, Close) switch
    {
        ({ } topic, _, _) => new ClusterEffect.Publish(topic, new PublishOptions(ExcludePeerId, Namespace), [.. Messages]),
        (null, { } peer, { } close) => new ClusterEffect.Close(peer, close),
        (null, { } peer, null) => new ClusterEffect.Send(peer, Messages[0]),
        _ => throw new InvalidDataException("An outbox effect names neither a topic nor a peer."),
    };
}

/// <summary>What a <see cref="Peer"/> reads of its grain's record, whatever the handler's state type.</summary>
internal interface IPeerFacts
{
    UpgradeRequest Request { get; }

    string? Protocol { get; }

    IReadOnlyList<string> Extensions { get; }

    string Namespace { get; }

    object? Context { get; set; }

    List<string> Topics { get; }
}
