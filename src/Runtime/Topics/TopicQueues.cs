using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Streams;

namespace OrleansWs.Internal;

/// <summary>
/// One queue of the topic stream provider. A read waits until something is queued (a long poll), so
/// an idle queue costs nothing and a publish is read the moment it arrives, instead of on the next
/// tick of a polling timer.
/// </summary>
internal interface ITopicQueueGrain : IGrainWithStringKey
{
    /// <summary>Appends one publish (one or more events of one topic) to the queue; returns its sequence number.</summary>
    Task<long> Enqueue(StreamId stream, TopicEvent[] events);

    /// <summary>
    /// Takes up to <paramref name="maxCount"/> queued publishes, oldest first; when none is queued,
    /// waits up to <paramref name="wait"/> for one. Returns an empty array when none came.
    /// </summary>
    [AlwaysInterleave]
    Task<TopicBatch[]> Dequeue(int maxCount, TimeSpan wait, CancellationToken cancellationToken);

    /// <summary>
    /// The sequence number the next publish will get: every publish queued before this call has a
    /// lower one, every later one this or a higher one (also after the queue moved to another silo).
    /// </summary>
    [AlwaysInterleave]
    Task<long> Position();

    /// <summary>
    /// Makes the subscription <paramref name="subscriber"/> (one gateway's, of <paramref name="stream"/>) a member
    /// of the stream's causal barrier: publishes a join marker for it and returns its position, from which on
    /// every publish waits for the subscription's acknowledgement (<see cref="Queued"/>). The subscription is in
    /// place once its marker reaches it; one whose marker did not joins again, with a new one.
    /// </summary>
    [AlwaysInterleave]
    Task<TopicBarrierTicket> Join(StreamId stream, Guid subscriber, ITopicBarrierObserver observer);

    /// <summary>Takes <paramref name="subscriber"/> out of the barrier of <paramref name="stream"/>: no wait counts it any more.</summary>
    [AlwaysInterleave]
    Task Leave(StreamId stream, Guid subscriber);

    /// <summary>
    /// The subscriber has queued, on its sockets, every publish of each stream up to the position given
    /// for it. An acknowledgement to an earlier incarnation of this queue (it was re-created after its
    /// silo died) makes the subscriber a member again from that position.
    /// </summary>
    [AlwaysInterleave]
    Task Queued(TopicAck[] acks, ITopicBarrierObserver observer);

    /// <summary>
    /// <see cref="Enqueue"/>, then waits until every member of the barrier of <paramref name="stream"/> that joined at
    /// or below the publish's position has queued it, for at most <paramref name="bound"/>. Members that had not are
    /// fenced: taken out of the barrier and told (<see cref="ITopicBarrierObserver.Fenced"/>). Returns the position and them.
    /// </summary>
    /// <remarks>Interleaved, so that one publish's wait holds up no other publish; the enqueue runs before its first await, in call order.</remarks>
    [AlwaysInterleave]
    Task<TopicEnqueued> EnqueueQueued(StreamId stream, TopicEvent[] events, TimeSpan bound);
}

/// <summary>A publish's position, and the subscriptions its barrier fenced.</summary>
[GenerateSerializer, Immutable]
internal readonly record struct TopicEnqueued([property: Id(0)] long Position, [property: Id(1)] Guid[] Fenced);

/// <summary>A subscriber's membership of a topic's barrier: from which position it counts, in which incarnation of the queue.</summary>
[GenerateSerializer, Immutable]
internal readonly record struct TopicBarrierTicket([property: Id(0)] long From, [property: Id(1)] Guid Incarnation);

/// <summary>The subscription <paramref name="Subscriber"/> queued every publish of <paramref name="Stream"/> up to <paramref name="Position"/>.</summary>
[GenerateSerializer, Immutable]
internal readonly record struct TopicAck([property: Id(0)] Guid Subscriber, [property: Id(1)] StreamId Stream, [property: Id(2)] long Position, [property: Id(3)] Guid Incarnation);

/// <summary>A gateway's bus, as a topic queue reaches it to fence one of its subscriptions.</summary>
internal interface ITopicBarrierObserver : IGrainObserver
{
    /// <summary>The subscription <paramref name="subscriber"/> of <paramref name="stream"/> did not queue a publish within the barrier's bound: it ends.</summary>
    [OneWay]
    Task Fenced(StreamId stream, Guid subscriber);
}

/// <summary>One publish read from a topic queue: what Orleans' pulling agent caches and delivers to subscribers.</summary>
[GenerateSerializer, Immutable]
internal sealed class TopicBatch(StreamId streamId, TopicEvent[] events, EventSequenceTokenV2 token) : IBatchContainer
{
    /// <summary>The topic's stream.</summary>
    [Id(0)]
    public StreamId StreamId { get; } = streamId;

    /// <summary>The published events, in publish order.</summary>
    [Id(1)]
    public TopicEvent[] Events { get; } = events;

    /// <summary>The position of this publish in its queue.</summary>
    [Id(2)]
    public EventSequenceTokenV2 Token { get; } = token;

    /// <inheritdoc />
    public StreamSequenceToken SequenceToken => Token;

    /// <inheritdoc />
    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>()
    {
        for (var i = 0; i < Events.Length; i++)
        {
            if (Events[i] is T item)
            {
                yield return Tuple.Create<T, StreamSequenceToken>(item, Token.CreateSequenceTokenForEvent(i));
            }
        }
    }

    /// <inheritdoc />
    public bool ImportRequestContext() => false;
}

/// <summary>
/// The topic stream provider's queues (an Orleans persistent-stream adapter): publishes go to
/// <see cref="ITopicQueueGrain"/>s, one per queue, and each silo's pulling agents read the queues
/// they own with a long poll. Orleans' memory streams polled each queue on a timer instead, which
/// cost an idle silo a tenth of a core at the 5 ms period that kept topic latency low.
/// </summary>
internal sealed class TopicQueueAdapterFactory : IQueueAdapterFactory, IQueueAdapter, IQueueAdapterCache
{
    // The longest a read waits in the queue grain before the agent's loop comes round again (it
    // cleans its caches between reads, and a shutdown that does not reach the grain waits this long).
    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(1);

    /// <summary>The most publishes a topic queue holds before it fails its publishers (as Orleans' memory stream queue).</summary>
    public const int TopicQueueGrainCapacity = 16384;

    private readonly IGrainFactory _grains;
    private readonly ILoggerFactory _loggers;
    private readonly HashRingBasedStreamQueueMapper _mapper;
    private readonly NoOpStreamDeliveryFailureHandler _failures = new();

    /// <summary>Creates the adapter of the stream provider named <paramref name="name"/>.</summary>
    public TopicQueueAdapterFactory(string name, IGrainFactory grains, ILoggerFactory loggers)
    {
        Name = name;
        _grains = grains;
        _loggers = loggers;
        _mapper = CreateMapper(name);
    }

    /// <summary>The queue grain that carries <paramref name="stream"/> of the <see cref="OrleansWsNames.StreamProvider"/> provider.</summary>
    public static ITopicQueueGrain QueueOf(IGrainFactory grains, StreamId stream) =>
        QueueGrain(grains, OrleansWsNames.StreamProvider, DefaultMapper.GetQueueForStream(stream));

    private static readonly HashRingBasedStreamQueueMapper DefaultMapper = CreateMapper(OrleansWsNames.StreamProvider);

    private static HashRingBasedStreamQueueMapper CreateMapper(string name) =>
        new(new HashRingStreamQueueMapperOptions { TotalQueueCount = OrleansWsNames.TopicQueues }, name);

    private static ITopicQueueGrain QueueGrain(IGrainFactory grains, string name, QueueId queueId) =>
        grains.GetGrain<ITopicQueueGrain>($"{name}/{queueId.GetNumericId()}");

    /// <summary>The factory Orleans' <c>AddPersistentStreams</c> takes.</summary>
    public static TopicQueueAdapterFactory Create(IServiceProvider services, string name) =>
        new(name, services.GetRequiredService<IGrainFactory>(), services.GetRequiredService<ILoggerFactory>());

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public bool IsRewindable => false;

    /// <inheritdoc />
    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    /// <inheritdoc />
    public Task<IQueueAdapter> CreateAdapter() => Task.FromResult<IQueueAdapter>(this);

    /// <inheritdoc />
    public IQueueAdapterCache GetQueueAdapterCache() => this;

    /// <inheritdoc />
    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    /// <inheritdoc />
    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) => Task.FromResult<IStreamFailureHandler>(_failures);

    /// <inheritdoc />
    // The agent stops reading a queue while its slowest subscriber (a gateway) lags most of the cache
    // behind; publishes then wait in the queue grain. As large as that queue, so a gateway has to fall
    // ~15,000 publishes behind (or be dead until its drop timeout) before the others wait with it.
    public IQueueCache CreateQueueCache(QueueId queueId) =>
        new TopicQueueCache(new SimpleQueueCache(TopicQueueGrainCapacity, _loggers.CreateLogger<TopicQueueAdapterFactory>()));

    /// <inheritdoc />
    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) => new Receiver(Queue(queueId));

    /// <inheritdoc />
    public Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        var items = events is IEnumerable<TopicEvent> topicEvents
            ? topicEvents.ToArray()
            : throw new NotSupportedException($"The '{Name}' stream provider carries {nameof(TopicEvent)}s only, not {typeof(T)}.");
        return Queue(_mapper.GetQueueForStream(streamId)).Enqueue(streamId, items);
    }

    private ITopicQueueGrain Queue(QueueId queueId) => QueueGrain(_grains, Name, queueId);

    private sealed class Receiver(ITopicQueueGrain queue) : IQueueAdapterReceiver
    {
        public Task Initialize(TimeSpan timeout) => Task.CompletedTask;

        public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

        public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
        {
            try
            {
                IBatchContainer[] batches = await queue.Dequeue(maxCount < 0 ? int.MaxValue : maxCount, LongPoll, cancellationToken);
                return batches;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The agent is stopping (the silo shuts down or hands the queue over): not a failed read.
                return [];
            }
        }

        public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => Task.CompletedTask;

        public Task Shutdown(TimeSpan timeout) => Task.CompletedTask;
    }
}
