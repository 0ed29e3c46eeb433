using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansWs.Internal;

/// <summary>
/// The topic seam over Orleans persistent streams: the <see cref="OrleansWsNames.StreamProvider"/> provider,
/// one stream per topic, over partitions of the topic log (<see cref="ITopicLog"/>, through
/// <see cref="TopicQueueAdapterFactory"/>). A publish is appended through its topic's partition grain, and the log
/// gives it its position; each partition's pulling agent reads it from the log and delivers to the subscribed
/// gateways. The causal barrier travels beside the stream: each gateway's bus acknowledges to the partition grain
/// the positions it queued, and a publisher waits there (<see cref="ITopicBarrier"/>). A topic's history is read
/// from the log through the same grain (<see cref="ITopicHistory"/>).
/// </summary>
/// <remarks>
/// Beyond the seam's common guarantees:
/// <list type="bullet">
/// <item>A publish the log took reaches every subscription in place from before it until after it, once: a partition
/// read again after its reader died is left out by position, and a publish a subscription missed on the way is read
/// from the topic's history before the next one (or, when the history no longer holds it, the subscription is fenced).
/// As durable as the log: a scaled cluster's Redis, or this process.</item>
/// <item>Positions rise per partition for as long as the log keeps it; a partition grain re-created after its silo
/// died starts with an empty barrier and counts each gateway again from that gateway's next acknowledgement (the
/// bus's check sends one every second), so publishes in between wait for nobody.</item>
/// <item>A subscription receives every publish from the position its barrier membership started at (taken once the
/// stream subscription was in place at Orleans' pub-sub); of publishes between <c>from</c> and that position it may
/// miss some.</item>
/// </list>
/// </remarks>
internal sealed partial class StreamTopicBus : ITopicPublisher, ITopicSubscriber, ITopicBarrier, ITopicHistory, ITopicBarrierObserver
{
    private readonly IClusterClient _client;
    private readonly ILogger<StreamTopicBus> _logger;
    private readonly TopicPartitions _partitions;
    private readonly Lock _lock = new();
    // The subscriptions by id, for the barrier's fences.
    private readonly Dictionary<Guid, Observer> _observers = [];
    private readonly Dictionary<GrainId, Acknowledger> _acknowledgers = [];
    private IStreamProvider? _streams;
    private ITopicBarrierObserver? _self;

    /// <summary>Creates the bus over <paramref name="client"/>.</summary>
    public StreamTopicBus(IClusterClient client, ILogger<StreamTopicBus> logger, TopicPartitions? partitions = null)
    {
        _client = client;
        _logger = logger;
        _partitions = partitions ?? new TopicPartitions();
    }

    /// <inheritdoc />
    public async Task<TopicPosition> Publish(string topic, IReadOnlyList<Message> messages, PublishOptions options)
    {
        // What a stream producer does on a persistent stream, but the queue's answer (the position) is kept.
        // A queue on a silo that just died rejects the publish until the cluster notices.
        var (stream, events) = Events(topic, messages, options);
        var queue = _partitions.QueueOf(_client, stream);
        return new TopicPosition(await ClusterRetry.WhenRejected(() => queue.Enqueue(stream, events)));
    }

    /// <inheritdoc />
    public async Task<TopicQueued> PublishQueued(string topic, IReadOnlyList<Message> messages, PublishOptions options, TimeSpan bound)
    {
        var (stream, events) = Events(topic, messages, options);
        var queue = _partitions.QueueOf(_client, stream);
        // A publish with an id is appended once however often it is asked: it may be asked again of a partition
        // whose silo died with the call.
        var answer = await ClusterRetry.WhenRejected(() => queue.EnqueueQueued(stream, events, bound, options.Id), idempotent: options.Id is not null);
        return new TopicQueued(answer.Fenced, new TopicPosition(answer.Position));
    }

    private static (StreamId Stream, TopicEvent[] Events) Events(string topic, IReadOnlyList<Message> messages, PublishOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        if (messages.Count == 0)
        {
            throw new ArgumentException("A publish has at least one message.", nameof(messages));
        }

        var events = new TopicEvent[messages.Count];
        for (var i = 0; i < events.Length; i++)
        {
            events[i] = new TopicEvent(messages[i], options.ExcludePeerId, EndOfPublish: i == events.Length - 1, Namespace: options.Namespace);
        }

        return (StreamOf(topic), events);
    }

    /// <inheritdoc />
    public async Task<TopicHistory> Read(string topic, TopicPosition after, int max)
    {
        var stream = StreamOf(topic);
        var read = await ClusterRetry.WhenRejected(() => _partitions.QueueOf(_client, stream).History(stream, after.Value, max));
        return new TopicHistory([.. read.Publishes.Select(p => new TopicPublish(new TopicPosition(p.Token.SequenceNumber), p.Events))], read.Truncated);
    }

    /// <inheritdoc />
    public async Task<TopicPosition> Position(string topic)
    {
        var queue = _partitions.QueueOf(_client, StreamOf(topic));
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
            _observers[observer.Id] = observer;
            observer.StreamHandle = handle;
        }

        Watch();
        try
        {
            await Join(observer);
        }
        catch
        {
            await new Subscription(this, observer).Unsubscribe();
            throw;
        }

        return new Subscription(this, observer);
    }

    // Orleans' pub-sub registers a subscription with the pulling agents in the background, so when
    // SubscribeAsync returns a publish may still pass it by. The queue publishes a marker for the
    // subscription; once the marker reaches it, so does every later publish, and the barrier counts it
    // from there. A marker that passed it by too is followed by another.
    private async Task Join(Observer observer)
    {
        var queue = _partitions.QueueOf(_client, observer.Stream);
        var limit = DateTime.UtcNow + MarkerLimit;
        var patience = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            var ticket = await ClusterRetry.WhenRejected(() => queue.Join(observer.Stream, observer.Id, Self()));
            if (await observer.Joined(ticket, patience))
            {
                return;
            }

            if (observer.Over)
            {
                throw new InvalidOperationException($"The subscription to topic {observer.Topic} ended while it joined.");
            }

            if (DateTime.UtcNow + patience > limit)
            {
                throw new TimeoutException($"The subscription to topic {observer.Topic} saw none of its join markers within {MarkerLimit.TotalSeconds} s.");
            }

            patience = TimeSpan.FromTicks(Math.Min(patience.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
    }

    // A catch-up from a topic's history: each read's bound, and the whole catch-up's, after which the subscription is
    // fenced (within Orleans' 30 s for a delivery to a client, and a little over a silo's failure detection).
    private static readonly TimeSpan CatchUpAttempt = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan CatchUpLimit = TimeSpan.FromSeconds(10);

    // How long a new subscription waits to be in place before its join fails.
    private static readonly TimeSpan MarkerLimit = RuntimeTimeouts.TopicJoin;

    Task ITopicBarrierObserver.Fenced(StreamId stream, Guid subscriber)
    {
        Observer? observer;
        lock (_lock)
        {
            _observers.TryGetValue(subscriber, out observer);
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

    private async Task Forget(Observer observer)
    {
        StreamSubscriptionHandle<TopicEvent>? handle;
        lock (_lock)
        {
            _observers.Remove(observer.Id);
            (handle, observer.StreamHandle) = (observer.StreamHandle, null);
            observer.Ended = true;
        }

        if (handle is not null)
        {
            await handle.UnsubscribeAsync();
        }
    }

    private void Acknowledge(Observer observer, TopicBarrierTicket ticket, TopicPosition position)
    {
        var queue = _partitions.QueueOf(_client, observer.Stream);
        Acknowledger acknowledger;
        lock (_lock)
        {
            if (!_acknowledgers.TryGetValue(queue.GetGrainId(), out acknowledger!))
            {
                _acknowledgers.Add(queue.GetGrainId(), acknowledger = new Acknowledger(this, queue));
            }
        }

        acknowledger.Add(new TopicAck(observer.Id, observer.Stream, position.Value, ticket.Incarnation));
    }

    private sealed class Subscription(StreamTopicBus bus, Observer observer) : ITopicSubscription
    {
        public async Task Unsubscribe()
        {
            // Out of the barrier first, so no publisher waits for a subscription that is going.
            var queue = bus._partitions.QueueOf(bus._client, observer.Stream);
            try
            {
                await ClusterRetry.WhenRejected(() => queue.Leave(observer.Stream, observer.Id));
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException)
            {
                // The first publish that waits for it fences it instead.
                TopicsLog.TopicUnsubscribeFailed(bus._logger, ex, observer.Topic);
            }
            finally
            {
                await bus.Forget(observer);
            }
        }
    }
}
