using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansWs.Internal;

/// <summary>
/// The topic seam over Orleans persistent streams: the <see cref="OrleansWsNames.StreamProvider"/> provider,
/// one stream per topic, over the in-memory, long-polled queues of <see cref="TopicQueueAdapterFactory"/>. A
/// publish is appended to its topic's queue grain, which gives it its position; each silo's pulling agents
/// read the queues they own and deliver to the subscribed gateways.
/// </summary>
/// <remarks>
/// What it does not guarantee beyond the seam's common guarantees:
/// <list type="bullet">
/// <item>Delivery is at most once: a queue grain's silo takes its unread publishes along when it dies,
/// and a read whose reply is lost takes what it read.</item>
/// <item>A queue grain re-created after its silo died numbers on from its new silo's clock, so positions
/// of a topic are ordered only while its queue grain lives.</item>
/// <item>A new subscription is in place at Orleans' pub-sub when <see cref="Subscribe"/> returns, but its
/// pulling agent starts delivering to it a little later (Orleans completes that hand-shake on its own).</item>
/// <item>No history (<see cref="ITopicHistory"/>) and no acknowledgement (<see cref="ITopicBarrier"/>).</item>
/// </list>
/// </remarks>
internal sealed class StreamTopicBus(IClusterClient client, ILogger<StreamTopicBus> logger) : ITopicPublisher, ITopicSubscriber
{
    private IStreamProvider? _streams;

    /// <inheritdoc />
    public async Task<TopicPosition> Publish(string topic, IReadOnlyList<Message> messages, PublishOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var events = new TopicEvent[messages.Count];
        for (var i = 0; i < events.Length; i++)
        {
            events[i] = new TopicEvent(messages[i], options.ExcludePeerId);
        }

        // What a stream producer does on a persistent stream, but the queue's answer (the position) is kept.
        // A queue on a silo that just died rejects the publish until the cluster notices.
        var stream = StreamOf(topic);
        var queue = TopicQueueAdapterFactory.QueueOf(client, stream);
        return new TopicPosition(await ClusterRetry.WhenRejected(() => queue.Enqueue(stream, events)));
    }

    /// <inheritdoc />
    public async Task<TopicPosition> Position(string topic)
    {
        var queue = TopicQueueAdapterFactory.QueueOf(client, StreamOf(topic));
        return new TopicPosition(await ClusterRetry.WhenRejected(queue.Position));
    }

    /// <inheritdoc />
    public async Task<ITopicSubscription> Subscribe(string topic, TopicPosition from, ITopicReceiver receiver)
    {
        _streams ??= client.GetStreamProvider(OrleansWsNames.StreamProvider);
        // The provider cannot rewind, so a subscription starts where the queue's cache stands; publishes
        // below `from` that still reach it are left out here.
        var handle = await _streams.GetStream<TopicEvent>(StreamOf(topic)).SubscribeAsync(new Observer(topic, from, receiver, logger));
        return new Subscription(handle);
    }

    private static StreamId StreamOf(string topic) => StreamId.Create(OrleansWsNames.TopicNamespace, topic);

    private sealed class Subscription(StreamSubscriptionHandle<TopicEvent> handle) : ITopicSubscription
    {
        public Task Unsubscribe() => handle.UnsubscribeAsync();
    }

    private sealed class Observer(string topic, TopicPosition from, ITopicReceiver receiver, ILogger logger) : IAsyncObserver<TopicEvent>
    {
        private bool _fenced;

        public Task OnNextAsync(TopicEvent item, StreamSequenceToken? token = null)
        {
            // Every delivery of this provider carries its queue position; one without is let through.
            var position = new TopicPosition(token?.SequenceNumber ?? long.MaxValue);
            if (_fenced || position < from)
            {
                return Task.CompletedTask;
            }

            try
            {
                receiver.OnPublished(position, item);
            }
            catch (Exception ex)
            {
                // Thrown back to Orleans, the batch would be delivered again (duplicates) and the queue's
                // cache held for everyone until it gave up: this subscription is fenced instead.
                _fenced = true;
                TopicsLog.TopicReceiverFailed(logger, ex, topic);
                receiver.OnFenced();
            }

            return Task.CompletedTask;
        }

        public Task OnCompletedAsync() => Task.CompletedTask;

        public Task OnErrorAsync(Exception ex)
        {
            TopicsLog.TopicStreamError(logger, ex, topic);
            return Task.CompletedTask;
        }
    }
}
