namespace OrleansWs.Internal;

/// <summary>
/// The gateway side of the topic seam: one subscription per topic that has local members, whose
/// deliveries <see cref="TopicFanout{TMember}"/> fans out to the gateway's sockets. A publish therefore
/// costs O(gateways), never O(subscribers).
/// </summary>
/// <remarks>
/// Every implementation guarantees:
/// <list type="bullet">
/// <item><b>Where a topic stands.</b> <see cref="Position"/> is linearised with publishes: every publish
/// accepted before the call was made lies below the answer, every publish accepted after it returned lies
/// at or above it.</item>
/// <item><b>From a position.</b> A subscription made from position <c>P</c> receives no publish below <c>P</c>.</item>
/// <item><b>Order.</b> A subscription receives its topic's publishes in position order, one callback at a
/// time (never two at once, also when the implementation hands the topic from one reader to another).</item>
/// <item><b>Isolation.</b> A subscription receives only its own topic's publishes. A receiver that throws is
/// fenced (<see cref="ITopicReceiver.OnFenced"/>) and receives nothing more; other subscriptions carry on.</item>
/// <item><b>Unsubscribe.</b> Once <see cref="ITopicSubscription.Unsubscribe"/> has returned, no callback of the
/// subscription runs; one already running may finish.</item>
/// </list>
/// What an implementation does not guarantee it says in its own remarks: whether every publish at or
/// above <c>P</c> arrives (at most once, or exactly once), and how soon after the subscribe returns its
/// deliveries start.
/// </remarks>
internal interface ITopicSubscriber
{
    /// <summary>Where <paramref name="topic"/> stands: the position its next publish gets at the least.</summary>
    Task<TopicPosition> Position(string topic);

    /// <summary>Subscribes to <paramref name="topic"/> from <paramref name="from"/>; the subscription is in place when the task completes.</summary>
    Task<ITopicSubscription> Subscribe(string topic, TopicPosition from, ITopicReceiver receiver);
}

/// <summary>Receives one subscription's deliveries.</summary>
internal interface ITopicReceiver
{
    /// <summary>
    /// One message of the publish at <paramref name="position"/>, to queue on sockets. The message is queued when
    /// the returned task completes, which the causal barrier waits for; a gateway queues at once and returns a
    /// completed task. Must not block. The next message is handed over without waiting for the task, and
    /// queued ones are acknowledged in order. A receiver that throws, or whose task fails, is fenced.
    /// </summary>
    ValueTask OnPublished(TopicPosition position, TopicEvent published);

    /// <summary>
    /// The subscription is fenced: nothing more arrives through it, so its members must be closed. Every
    /// implementation fences a receiver that threw; one that acknowledges deliveries (<see cref="ITopicBarrier"/>)
    /// also fences a gateway that fell behind.
    /// </summary>
    void OnFenced();
}

/// <summary>One gateway's subscription to one topic.</summary>
internal interface ITopicSubscription
{
    /// <summary>Ends the subscription.</summary>
    Task Unsubscribe();
}
