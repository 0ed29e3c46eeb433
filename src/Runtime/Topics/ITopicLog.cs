namespace OrleansWs.Internal;

/// <summary>
/// The log topics ride on: partitions of publishes that the topic stream provider's pulling agents read, and
/// each topic's own bounded history. Positions come from the log, never from a clock of ours. Silos hold
/// it; gateways reach it only through the partitions' grains.
/// </summary>
/// <remarks>
/// Every implementation guarantees:
/// <list type="bullet">
/// <item><b>Positions.</b> Each publish appended to a partition gets a position above every publish appended to
/// that partition before it, for as long as the log keeps the partition (also across restarts of every silo).
/// A topic lives in one partition, so its positions rise too.</item>
/// <item><b>The chain.</b> An appended publish carries its topic's previous position (<see cref="TopicEvent.Previous"/>
/// on its first event), kept for <see cref="TopicLogLimits.AppendIdWindow"/> after the topic's last publish, whatever
/// the history kept: a reader that did not see that position missed a publish.</item>
/// <item><b>Once.</b> An append that names an id (<see cref="EffectId"/>) is appended at most once for that
/// publisher, write and index, however often it is asked.</item>
/// <item><b>Bounded.</b> A partition keeps at most <see cref="TopicLogLimits.PartitionLength"/> publishes; a topic's
/// history at most <see cref="TopicLogLimits.HistoryCount"/>, none older than <see cref="TopicLogLimits.HistoryAge"/>.
/// Trimming never fails an append.</item>
/// </list>
/// What an implementation does not guarantee it says in its remarks: whether an appended publish survives the
/// process that holds the log.
/// </remarks>
internal interface ITopicLog
{
    /// <summary>Whether the log takes appends now, without asking it: false once it is known to be unreachable or to have no room.</summary>
    bool Writable { get; }

    /// <summary>
    /// Appends one publish of <paramref name="topic"/> to <paramref name="partition"/>; returns it as the log holds it
    /// (its position, and its topic's previous position on its first event), or, when <paramref name="id"/> was
    /// appended already, no batch and the earlier append's position. Throws when the log did not take it. A join
    /// marker (<see cref="TopicEvent.Marker"/>) goes to the partition only: it is not in the topic's history or chain.
    /// </summary>
    Task<TopicAppended> Append(uint partition, string topic, TopicEvent[] events, EffectId? id = null);

    /// <summary>
    /// Up to <paramref name="max"/> publishes of <paramref name="partition"/> after <paramref name="after"/>, oldest first;
    /// when there is none, waits up to <paramref name="wait"/> for one. Empty when none came or the wait was cancelled.
    /// </summary>
    Task<TopicBatch[]> Read(uint partition, TopicPosition after, int max, TimeSpan wait, CancellationToken cancellationToken);

    /// <summary>The position of <paramref name="partition"/>'s last publish, or <see cref="TopicPosition.Start"/> when it holds none.</summary>
    Task<TopicPosition> End(uint partition);

    /// <summary>Up to <paramref name="max"/> publishes of <paramref name="topic"/> after <paramref name="after"/>, oldest first, from its history.</summary>
    Task<TopicHistoryRead> History(string topic, TopicPosition after, int max);

    /// <summary>Each topic's last position (its chain's end), <see cref="TopicPosition.Start"/> for one with none.</summary>
    Task<TopicPosition[]> Last(IReadOnlyList<string> topics);

    /// <summary>Where the readers of <paramref name="partition"/> had delivered everything up to, or <see langword="null"/> if nobody said.</summary>
    Task<TopicPosition?> Checkpoint(uint partition);

    /// <summary>Records that everything of <paramref name="partition"/> up to <paramref name="position"/> was delivered.</summary>
    Task SaveCheckpoint(uint partition, TopicPosition position);
}

/// <summary>What an append did.</summary>
/// <param name="Batch">The publish as the log holds it; <see langword="null"/> when its id had been appended before.</param>
/// <param name="Position">Its position; for one appended before, that append's (<see cref="TopicPosition.Start"/> when the log no longer knows it).</param>
internal readonly record struct TopicAppended(TopicBatch? Batch, TopicPosition Position);

/// <summary>A read of a topic's history.</summary>
/// <param name="Publishes">The publishes read, oldest first.</param>
/// <param name="Truncated">Publishes after the position asked for are gone from the history: the reader missed some.</param>
[GenerateSerializer, Immutable]
internal sealed record TopicHistoryRead([property: Id(0)] TopicBatch[] Publishes, [property: Id(1)] bool Truncated)
{
    /// <summary>
    /// Whether a history whose oldest kept publish is <paramref name="first"/> lost publishes after <paramref name="after"/>:
    /// the first kept one does not follow it, or follows a chain that started afresh after it.
    /// </summary>
    public static bool Lost(TopicPosition after, TopicBatch first) =>
        first.Events[0].Previous != after.Value
        && (first.Events[0].Previous == TopicEvent.None ? after != TopicPosition.Start : first.Events[0].Previous > after.Value);
}

/// <summary>How large the topic log may grow (the silo's options set them; gateways never read the log).</summary>
/// <param name="PartitionLength">The most publishes a partition keeps; older ones are trimmed (readers are expected to be far closer).</param>
/// <param name="HistoryCount">The most publishes a topic's history keeps.</param>
/// <param name="HistoryAge">How long a topic's history keeps a publish.</param>
internal sealed record TopicLogLimits(int PartitionLength, int HistoryCount, TimeSpan HistoryAge)
{
    /// <summary>The defaults: 100,000 per partition, 1,000 per topic, 10 minutes.</summary>
    public static TopicLogLimits Default { get; } = new(100_000, 1_000, TimeSpan.FromMinutes(10));

    /// <summary>How long a log remembers an append's <see cref="EffectId"/>.</summary>
    public static TimeSpan AppendIdWindow { get; } = TimeSpan.FromDays(1);
}
