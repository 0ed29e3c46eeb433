using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Streams;

namespace OrleansWs.Internal;

/// <summary>
/// One partition of the topic stream provider: where its publishes are appended to the topic log (which gives
/// them their positions) and where the causal barrier of its topics is kept. Its pulling agent reads the
/// partition from the log itself.
/// </summary>
internal interface ITopicQueueGrain : IGrainWithStringKey
{
    /// <summary>Appends one publish (one or more events of one topic) to the log; returns its position.</summary>
    [AlwaysInterleave]
    Task<long> Enqueue(StreamId stream, TopicEvent[] events);

    /// <summary>
    /// The position the next publish will get at the least: every publish appended before this call has a
    /// lower one, every later one this or a higher one (also after the partition moved to another silo).
    /// </summary>
    [AlwaysInterleave]
    Task<long> Position();

    /// <summary>Up to <paramref name="max"/> publishes of the stream's topic after <paramref name="after"/>, from its history.</summary>
    [AlwaysInterleave]
    Task<TopicHistoryRead> History(StreamId stream, long after, int max);

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
    /// for it. An acknowledgement to an earlier incarnation of this partition's barrier (its grain was re-created
    /// after its silo died) makes the subscriber a member again from that position.
    /// </summary>
    [AlwaysInterleave]
    Task Queued(TopicAck[] acks, ITopicBarrierObserver observer);

    /// <summary>
    /// Each stream's last position, for a gateway that checks its subscriptions still receive (a stream subscription
    /// Orleans dropped delivers nothing more, and says nothing); applies <paramref name="acks"/> first, as
    /// <see cref="Queued"/>, so that a partition grain re-created after its silo died counts those gateways again at once.
    /// </summary>
    [AlwaysInterleave]
    Task<long[]> Tails(StreamId[] streams, TopicAck[] acks, ITopicBarrierObserver observer);

    /// <summary>
    /// <see cref="Enqueue"/> (once per <paramref name="id"/> when one is given), then waits until every member of the
    /// barrier of <paramref name="stream"/> that joined at or below the publish's position has queued it, for at most
    /// <paramref name="bound"/>. Members that had not are fenced: taken out of the barrier and told
    /// (<see cref="ITopicBarrierObserver.Fenced"/>). Returns the position and them; a publish appended already under
    /// <paramref name="id"/> returns <see cref="TopicEvent.None"/> and waits for nobody.
    /// </summary>
    /// <remarks>Interleaved, so that one publish's wait holds up no other publish.</remarks>
    [AlwaysInterleave]
    Task<TopicEnqueued> EnqueueQueued(StreamId stream, TopicEvent[] events, TimeSpan bound, EffectId? id = null);
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
/// Which partition (one <see cref="ITopicQueueGrain"/>, one Orleans stream queue) carries each topic. Silos and
/// gateways must agree on the count, since both map a topic to its partition.
/// </summary>
internal sealed class TopicPartitions
{
    /// <summary>The count when none is configured.</summary>
    public const int DefaultCount = 4;

    private readonly HashRingBasedStreamQueueMapper _mapper;
    private readonly HashSet<uint> _ids;

    /// <summary>Spreads topics over <paramref name="count"/> partitions.</summary>
    public TopicPartitions(int count = DefaultCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
        _mapper = new(new HashRingStreamQueueMapperOptions { TotalQueueCount = count }, OrleansWsNames.StreamProvider);
        _ids = [.. _mapper.GetAllQueues().Select(q => q.GetNumericId())];
    }

    /// <summary>How many partitions there are.</summary>
    public int Count { get; }

    /// <summary>Orleans' map of streams to queues, one queue per partition.</summary>
    public HashRingBasedStreamQueueMapper Mapper => _mapper;

    /// <summary>The partition grain that carries <paramref name="stream"/>.</summary>
    public ITopicQueueGrain QueueOf(IGrainFactory grains, StreamId stream) => Queue(grains, _mapper.GetQueueForStream(stream));

    /// <summary>The partition grain of <paramref name="queue"/>.</summary>
    public static ITopicQueueGrain Queue(IGrainFactory grains, QueueId queue) =>
        grains.GetGrain<ITopicQueueGrain>($"{OrleansWsNames.StreamProvider}/{queue.GetNumericId()}");

    /// <summary>The partition a partition grain's key names; throws for one this count does not have (a host configured with another count).</summary>
    public uint PartitionOf(string key)
    {
        var slash = key.LastIndexOf('/');
        if (slash < 0 || !uint.TryParse(key.AsSpan(slash + 1), out var id) || !_ids.Contains(id))
        {
            throw new InvalidOperationException(
                $"Topic partition '{key}' is not one of this silo's {Count} partitions: every silo and gateway must be configured with the same topic partition count.");
        }

        return id;
    }
}

/// <summary>
/// The topic stream provider's queues (an Orleans persistent-stream adapter): publishes are appended to the
/// topic log through each partition's <see cref="ITopicQueueGrain"/>, and each silo's pulling agents read the
/// partitions they own from the log, from where the last reader had delivered everything (its checkpoint). A read
/// that finds nothing new waits in the log for the next publish (a long poll), so an idle partition costs nothing
/// and a publish is read the moment it is appended.
/// </summary>
internal sealed partial class TopicQueueAdapterFactory : IQueueAdapterFactory, IQueueAdapter, IQueueAdapterCache
{
    // The longest a read waits in the log before the agent's loop comes round again (it cleans its caches
    // between reads, and a shutdown that does not reach the log waits this long).
    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(1);

    /// <summary>How many publishes a pulling agent caches per partition.</summary>
    public const int CacheSize = 16384;

    private readonly IGrainFactory _grains;
    private readonly ILoggerFactory _loggers;
    private readonly TopicPartitions _partitions;
    private readonly ITopicLog? _log;
    private readonly NoOpStreamDeliveryFailureHandler _failures = new();

    /// <summary>Creates the adapter of the stream provider named <paramref name="name"/>; <paramref name="log"/> is null on a client (a gateway), which never reads.</summary>
    public TopicQueueAdapterFactory(string name, IGrainFactory grains, ILoggerFactory loggers, TopicPartitions partitions, ITopicLog? log)
    {
        Name = name;
        _grains = grains;
        _loggers = loggers;
        _partitions = partitions;
        _log = log;
    }

    /// <summary>The factory Orleans' <c>AddPersistentStreams</c> takes.</summary>
    public static TopicQueueAdapterFactory Create(IServiceProvider services, string name) =>
        new(name, services.GetRequiredService<IGrainFactory>(), services.GetRequiredService<ILoggerFactory>(),
            services.GetService<TopicPartitions>() ?? new TopicPartitions(), services.GetService<ITopicLog>());

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
    public IStreamQueueMapper GetStreamQueueMapper() => _partitions.Mapper;

    /// <inheritdoc />
    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) => Task.FromResult<IStreamFailureHandler>(_failures);

    /// <inheritdoc />
    // The agent stops reading a partition while its slowest subscriber (a gateway) lags most of the cache behind;
    // publishes then wait in the log. A gateway has to fall ~15,000 publishes behind (or be dead until its drop
    // timeout) before the others wait with it; the causal barrier fences a laggard long before that.
    public IQueueCache CreateQueueCache(QueueId queueId) =>
        new TopicQueueCache(new SimpleQueueCache(CacheSize, _loggers.CreateLogger<TopicQueueAdapterFactory>()));

    /// <inheritdoc />
    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) =>
        new Receiver(_log ?? throw new InvalidOperationException("Only a silo reads topic partitions: it has no topic log."), queueId.GetNumericId());

    /// <inheritdoc />
    public Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        var items = events is IEnumerable<TopicEvent> topicEvents
            ? topicEvents.ToArray()
            : throw new NotSupportedException($"The '{Name}' stream provider carries {nameof(TopicEvent)}s only, not {typeof(T)}.");
        return _partitions.QueueOf(_grains, streamId).Enqueue(streamId, items);
    }
}
