namespace OrleansWs.Internal;

/// <summary>
/// The causal barrier of the topic seam: a publisher learns that every gateway subscribed to a topic has
/// queued a publish on its sockets, so that a hook's reply can wait for its publishes. The in-memory
/// stream queues do not acknowledge deliveries and do not implement it.
/// </summary>
/// <remarks>
/// A gateway counts when its subscription started at or below the publish's position; "queued" means its
/// receiver's <see cref="ITopicReceiver.OnPublished"/> returned for the publish's last message. A gateway
/// that has not queued within the bound is fenced for the topic (its receiver gets
/// <see cref="ITopicReceiver.OnFenced"/>) and named in the answer; a gateway whose lease ran out no longer counts.
/// </remarks>
internal interface ITopicBarrier
{
    /// <summary>Waits, for at most <paramref name="bound"/>, until every subscribed gateway queued the publish of <paramref name="topic"/> at <paramref name="position"/>.</summary>
    Task<TopicQueued> WaitQueued(string topic, TopicPosition position, TimeSpan bound);
}

/// <summary>What <see cref="ITopicBarrier.WaitQueued"/> found.</summary>
/// <param name="Fenced">The gateways that had not queued the publish within the bound and are now fenced for the topic; empty when all had.</param>
internal sealed record TopicQueued(IReadOnlyList<Guid> Fenced);
