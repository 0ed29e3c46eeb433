namespace OrleansWs.Internal;

/// <summary>
/// The causal barrier of the topic seam: a publisher learns that every gateway subscribed to a topic has
/// queued a publish on its sockets, so that a hook's effects that come after it (its reply, a later send)
/// reach no one before it.
/// </summary>
/// <remarks>
/// Every implementation guarantees:
/// <list type="bullet">
/// <item><b>Who counts.</b> Each subscription (one per gateway and topic) counts from a position it took once
/// it was in place; a publish at or above it waits for it. A subscription that ended (unsubscribed, or
/// fenced) no longer counts, and a wait that counted it stops waiting for it.</item>
/// <item><b>Queued.</b> A subscription has queued a publish when its receiver's
/// <see cref="ITopicReceiver.OnPublished"/> task completed for the publish's last message, and for every message before it (or left it out by the
/// join fence).</item>
/// <item><b>Bounded.</b> <see cref="PublishQueued"/> returns within its bound (plus one round trip). A
/// subscription that had not queued the publish by then is fenced: its receiver gets
/// <see cref="ITopicReceiver.OnFenced"/> (its members are closed), and it is named in the answer. A gateway
/// that died is fenced so by the first wait that counted it.</item>
/// </list>
/// </remarks>
internal interface ITopicBarrier
{
    /// <summary>
    /// Publishes as <see cref="ITopicPublisher.Publish"/> does, then waits, for at most <paramref name="bound"/>, until
    /// every subscription of <paramref name="topic"/> queued the publish: one round trip to where the topic is kept,
    /// what a hook's effects do for each of its publishes.
    /// </summary>
    Task<TopicQueued> PublishQueued(string topic, IReadOnlyList<Message> messages, PublishOptions options, TimeSpan bound);
}

/// <summary>What <see cref="ITopicBarrier.PublishQueued"/> found.</summary>
/// <param name="Fenced">The subscriptions (one per gateway) that had not queued the publish within the bound and are now fenced for the topic; empty when all had.</param>
/// <param name="Position">The publish's position.</param>
internal sealed record TopicQueued(IReadOnlyList<Guid> Fenced, TopicPosition Position = default)
{
    /// <summary>Every subscription queued the publish.</summary>
    public static TopicQueued All { get; } = new([]);
}
