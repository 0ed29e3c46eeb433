namespace OrleansWs.Internal;

/// <summary>A local subscriber of <see cref="TopicFanout{TMember}"/>: one peer's socket on this gateway.</summary>
internal interface ITopicMember
{
    /// <summary>The peer's id; a publish that excludes it does not reach it.</summary>
    string PeerId { get; }

    /// <summary>The peer's namespace; a publish to one namespace reaches only its members.</summary>
    string Namespace { get; }

    /// <summary>Whether the member's end is decided. A closing member is not added to a topic (it is released, or about to be).</summary>
    bool Closing { get; }

    /// <summary>
    /// Queues one published message of <paramref name="topic"/> on the member's socket: the <paramref name="index"/>th
    /// message of the log's entry at <paramref name="position"/> (a hook's consecutive publishes to a topic are one entry).
    /// Must not block.
    /// </summary>
    void Deliver(Message message, string topic, TopicPosition position, int index);

    /// <summary>Closes the member's connection (the gateway was fenced for a topic it is in).</summary>
    void Close(int code, string reason);
}
