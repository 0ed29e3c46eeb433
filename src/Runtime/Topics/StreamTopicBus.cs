using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansWs.Internal;

/// <summary>
/// The topic seam over Orleans persistent streams: the <see cref="OrleansWsNames.StreamProvider"/> provider,
/// one stream per topic, over the in-memory, long-polled queues of <see cref="TopicQueueAdapterFactory"/>. A
/// publish is appended to its topic's queue grain, which gives it its position; each silo's pulling agents
/// read the queues they own and deliver to the subscribed gateways. The causal barrier travels beside the
/// stream: each gateway's bus acknowledges to the topic's queue grain the positions it queued, and a
/// publisher waits there (<see cref="ITopicBarrier"/>).
/// </summary>
/// <remarks>
/// What it does not guarantee beyond the seam's common guarantees:
/// <list type="bullet">
/// <item>Delivery is at most once: a queue grain's silo takes its unread publishes along when it dies,
/// and a read whose reply is lost takes what it read.</item>
/// <item>A queue grain re-created after its silo died numbers on from its new silo's clock, so positions
/// of a topic are ordered only while its queue grain lives; its barrier starts empty and counts each
/// gateway again from that gateway's next acknowledgement, so publishes in between wait for nobody.</item>
/// <item>A subscription receives every publish from the position its barrier membership started at (taken
/// once the stream subscription was in place at Orleans' pub-sub); of publishes between <c>from</c> and that
/// position it may miss some.</item>
/// <item>No history (<see cref="ITopicHistory"/>).</item>
/// </list>
/// </remarks>
internal sealed class StreamTopicBus : ITopicPublisher, ITopicSubscriber, ITopicBarrier, ITopicBarrierObserver
{
    private readonly IClusterClient _client;
    private readonly ILogger<StreamTopicBus> _logger;
    private readonly Lock _lock = new();
    // The subscriptions by stream, for the barrier's fences; a stream has one subscription per bus (TopicFanout's).
    private readonly Dictionary<StreamId, Observer> _observers = [];
    private readonly Dictionary<GrainId, Acknowledger> _acknowledgers = [];
    private IStreamProvider? _streams;
    private ITopicBarrierObserver? _self;

    /// <summary>Creates the bus over <paramref name="client"/>.</summary>
    public StreamTopicBus(IClusterClient client, ILogger<StreamTopicBus> logger)
    {
        _client = client;
        _logger = logger;
    }

    /// <summary>This bus's identity in the topics' barriers.</summary>
    public Guid Id { get; } = Guid.NewGuid();

    /// <inheritdoc />
    public async Task<TopicPosition> Publish(string topic, IReadOnlyList<Message> messages, PublishOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var events = new TopicEvent[messages.Count];
        for (var i = 0; i < events.Length; i++)
        {
            events[i] = new TopicEvent(messages[i], options.ExcludePeerId, EndOfPublish: i == events.Length - 1);
        }

        // What a stream producer does on a persistent stream, but the queue's answer (the position) is kept.
        // A queue on a silo that just died rejects the publish until the cluster notices.
        var stream = StreamOf(topic);
        var queue = TopicQueueAdapterFactory.QueueOf(_client, stream);
        return new TopicPosition(await ClusterRetry.WhenRejected(() => queue.Enqueue(stream, events)));
    }

    /// <inheritdoc />
    public async Task<TopicPosition> Position(string topic)
    {
        var queue = TopicQueueAdapterFactory.QueueOf(_client, StreamOf(topic));
        return new TopicPosition(await ClusterRetry.WhenRejected(queue.Position));
    }

    /// <inheritdoc />
    public async Task<ITopicSubscription> Subscribe(string topic, TopicPosition from, ITopicReceiver receiver)
    {
        _streams ??= _client.GetStreamProvider(OrleansWsNames.StreamProvider);
        var stream = StreamOf(topic);
        var observer = new Observer(this, topic, stream, from, receiver);
        // The provider cannot rewind, so a subscription starts where the queue's cache stands; publishes
        // below `from` that still reach it are left out here.
        var handle = await _streams.GetStream<TopicEvent>(stream).SubscribeAsync(observer);
        lock (_lock)
        {
            _observers[stream] = observer;
        }

        // In place at the pub-sub (which has told the pulling agents), so every publish from here on
        // reaches it: from here on, publishers wait for its acknowledgement.
        var queue = TopicQueueAdapterFactory.QueueOf(_client, stream);
        try
        {
            observer.Joined(await ClusterRetry.WhenRejected(() => queue.Join(stream, Id, Self())));
        }
        catch
        {
            await Forget(observer, handle);
            throw;
        }

        return new Subscription(this, observer, handle);
    }

    /// <inheritdoc />
    public async Task<TopicQueued> WaitQueued(string topic, TopicPosition position, TimeSpan bound)
    {
        var stream = StreamOf(topic);
        var queue = TopicQueueAdapterFactory.QueueOf(_client, stream);
        var fenced = await ClusterRetry.WhenRejected(() => queue.WaitQueued(stream, position.Value, bound));
        return fenced.Length == 0 ? TopicQueued.All : new TopicQueued(fenced);
    }

    Task ITopicBarrierObserver.Fenced(StreamId stream)
    {
        Observer? observer;
        lock (_lock)
        {
            _observers.TryGetValue(stream, out observer);
        }

        observer?.Fence(barrier: true);
        return Task.CompletedTask;
    }

    private ITopicBarrierObserver Self()
    {
        lock (_lock)
        {
            // Orleans holds observers weakly: this bus holds its own reference, and lives as long as the host.
            return _self ??= _client.CreateObjectReference<ITopicBarrierObserver>(this);
        }
    }

    private static StreamId StreamOf(string topic) => StreamId.Create(OrleansWsNames.TopicNamespace, topic);

    private async Task Forget(Observer observer, StreamSubscriptionHandle<TopicEvent> handle)
    {
        lock (_lock)
        {
            if (_observers.TryGetValue(observer.Stream, out var current) && current == observer)
            {
                _observers.Remove(observer.Stream);
            }
        }

        observer.Ended = true;
        await handle.UnsubscribeAsync();
    }

    private void Acknowledge(Observer observer, TopicBarrierTicket ticket, TopicPosition position)
    {
        var queue = TopicQueueAdapterFactory.QueueOf(_client, observer.Stream);
        Acknowledger acknowledger;
        lock (_lock)
        {
            if (!_acknowledgers.TryGetValue(queue.GetGrainId(), out acknowledger!))
            {
                _acknowledgers.Add(queue.GetGrainId(), acknowledger = new Acknowledger(this, queue));
            }
        }

        acknowledger.Add(new TopicAck(observer.Stream, position.Value, ticket.Incarnation));
    }

    private sealed class Subscription(StreamTopicBus bus, Observer observer, StreamSubscriptionHandle<TopicEvent> handle) : ITopicSubscription
    {
        public async Task Unsubscribe()
        {
            // Out of the barrier first, so no publisher waits for a subscription that is going.
            var queue = TopicQueueAdapterFactory.QueueOf(bus._client, observer.Stream);
            try
            {
                await ClusterRetry.WhenRejected(() => queue.Leave(observer.Stream, bus.Id));
            }
            finally
            {
                await bus.Forget(observer, handle);
            }
        }
    }

    // One queue grain's acknowledgements: one call in flight at a time, and what is queued meanwhile goes
    // in the next (the highest position per stream), so a busy gateway sends fewer, larger ones.
    private sealed class Acknowledger(StreamTopicBus bus, ITopicQueueGrain queue)
    {
        private readonly Dictionary<StreamId, TopicAck> _pending = [];
        private bool _sending;

        public void Add(TopicAck ack)
        {
            lock (_pending)
            {
                _pending[ack.Stream] = _pending.TryGetValue(ack.Stream, out var earlier) && earlier.Position > ack.Position ? earlier : ack;
                if (_sending)
                {
                    return;
                }

                _sending = true;
            }

            _ = Send();
        }

        private async Task Send()
        {
            while (true)
            {
                TopicAck[] acks;
                lock (_pending)
                {
                    if (_pending.Count == 0)
                    {
                        _sending = false;
                        return;
                    }

                    acks = [.. _pending.Values];
                    _pending.Clear();
                }

                try
                {
                    await queue.Queued(bus.Id, bus.Self(), acks);
                }
                catch (Exception ex)
                {
                    // A publisher waiting for these fences this gateway at its bound; nothing else is lost.
                    TopicsLog.TopicAckFailed(bus._logger, ex, acks.Length);
                }
            }
        }
    }

    private sealed class Observer(StreamTopicBus bus, string topic, StreamId stream, TopicPosition from, ITopicReceiver receiver) : IAsyncObserver<TopicEvent>
    {
        private readonly Lock _lock = new();
        private bool _fenced;
        private TopicBarrierTicket? _ticket;
        // The last publish queued before the barrier's answer came: a publisher may wait for it already.
        private TopicPosition? _queuedBeforeTicket;

        public StreamId Stream { get; } = stream;

        public bool Ended { get; set; }

        public void Joined(TopicBarrierTicket ticket)
        {
            TopicPosition? queued;
            lock (_lock)
            {
                (_ticket, queued) = (ticket, _queuedBeforeTicket);
            }

            if (queued is { } position)
            {
                bus.Acknowledge(this, ticket, position);
            }
        }

        public Task OnNextAsync(TopicEvent item, StreamSequenceToken? token = null)
        {
            // Every delivery of this provider carries its queue position; one without is let through.
            var position = new TopicPosition(token?.SequenceNumber ?? long.MaxValue);
            if (_fenced || Ended)
            {
                return Task.CompletedTask;
            }

            if (position >= from)
            {
                try
                {
                    receiver.OnPublished(position, item);
                }
                catch (Exception ex)
                {
                    // Thrown back to Orleans, the batch would be delivered again (duplicates) and the queue's
                    // cache held for everyone until it gave up: this subscription is fenced instead.
                    TopicsLog.TopicReceiverFailed(bus._logger, ex, topic);
                    Fence(barrier: false);
                    return Task.CompletedTask;
                }
            }

            if (item.EndOfPublish && token is not null)
            {
                TopicBarrierTicket? ticket;
                lock (_lock)
                {
                    ticket = _ticket;
                    if (ticket is null)
                    {
                        _queuedBeforeTicket = position;
                    }
                }

                if (ticket is { } joined)
                {
                    bus.Acknowledge(this, joined, position);
                }
            }

            return Task.CompletedTask;
        }

        public void Fence(bool barrier)
        {
            if (_fenced)
            {
                return;
            }

            _fenced = true;
            if (barrier)
            {
                TopicsLog.TopicBarrierFenced(bus._logger, topic);
            }

            receiver.OnFenced();
        }

        public Task OnCompletedAsync() => Task.CompletedTask;

        public Task OnErrorAsync(Exception ex)
        {
            TopicsLog.TopicStreamError(bus._logger, ex, topic);
            return Task.CompletedTask;
        }
    }
}
