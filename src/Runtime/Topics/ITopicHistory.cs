namespace OrleansWs.Internal;

/// <summary>
/// A topic's bounded history, read from a position: what a durable topic log adds to the seam (catching
/// a lagging gateway up, resuming a peer). The in-memory stream queues keep no history and do not
/// implement it; a host that needs history fails at startup when none is registered.
/// </summary>
internal interface ITopicHistory
{
    /// <summary>
    /// Up to <paramref name="max"/> publishes (not messages) of <paramref name="topic"/> after <paramref name="after"/>,
    /// oldest first, and whether publishes after <paramref name="after"/> were already trimmed from the history.
    /// </summary>
    Task<TopicHistory> Read(string topic, TopicPosition after, int max);
}

/// <summary>A read of a topic's history.</summary>
/// <param name="Publishes">The publishes read, oldest first.</param>
/// <param name="Truncated">Publishes after the position asked for are gone from the history: the reader missed some.</param>
internal sealed record TopicHistory(IReadOnlyList<TopicPublish> Publishes, bool Truncated);

/// <summary>One publish as a topic's history holds it.</summary>
/// <param name="Position">Its position.</param>
/// <param name="Events">Its messages, in order.</param>
internal sealed record TopicPublish(TopicPosition Position, IReadOnlyList<TopicEvent> Events);
