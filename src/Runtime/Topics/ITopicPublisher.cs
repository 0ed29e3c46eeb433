namespace OrleansWs.Internal;

/// <summary>
/// The publishing side of the topic seam: what a peer grain's hooks and <see cref="IWebSocketPeers"/>
/// anywhere in the cluster publish through. Its counterpart on gateways is <see cref="ITopicSubscriber"/>;
/// one implementation provides both (<see cref="StreamTopicBus"/> on Orleans streams).
/// </summary>
/// <remarks>
/// Every implementation guarantees:
/// <list type="bullet">
/// <item><b>Acceptance.</b> <see cref="Publish"/> returns once the publish is accepted (queued or appended),
/// with its position, and throws when it was not. A publish it threw for may or may not be delivered.</item>
/// <item><b>Positions.</b> While the queue or log that holds a topic lives, each accepted publish gets a
/// higher position than every publish accepted before it (<see cref="ITopicSubscriber.Position"/> tells
/// where a topic stands).</item>
/// <item><b>One publish, one position.</b> The messages of one publish keep their order, are never
/// interleaved with another publish's, and share its position.</item>
/// </list>
/// What an implementation does not guarantee it says in its own remarks: whether an accepted publish
/// survives the loss of a silo or gateway (durability), and whether a topic's positions survive the loss
/// of the process that holds its queue.
/// </remarks>
internal interface ITopicPublisher
{
    /// <summary>Publishes <paramref name="messages"/> to <paramref name="topic"/>, in order, as one publish; returns its position.</summary>
    Task<TopicPosition> Publish(string topic, IReadOnlyList<Message> messages, PublishOptions options);
}

/// <summary>How a publish is made; a struct, so that adding a field later changes no signature and costs no allocation.</summary>
/// <param name="ExcludePeerId">A peer that does not get the publish (the sender, for a peer's own publish).</param>
/// <param name="Namespace">Only subscribers of this namespace get the publish; <see langword="null"/>: every namespace.</param>
/// <param name="Id">Names the publish so that publishing it again (a record's outbox released after a crash) does not publish it twice.</param>
internal readonly record struct PublishOptions(string? ExcludePeerId, string? Namespace = null, EffectId? Id = null);
