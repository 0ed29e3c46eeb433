using Orleans.Providers.Streams.Common;

namespace OrleansWs.Internal;

/// <summary>
/// One topic queue held in memory, as Orleans' memory streams hold theirs: what a silo holding it
/// takes with it when it dies is lost. A reader that finds it empty waits here for the next publish.
/// It also keeps the causal barrier of its topics (<see cref="TopicBarrier"/>), which a migration does
/// not carry: the new activation's barrier is rebuilt from the gateways' next acknowledgements.
/// </summary>
[KeepAlive] // collecting a queue nobody happened to read for a while would drop its publishes
internal sealed class TopicQueueGrain : Grain, ITopicQueueGrain, IGrainMigrationParticipant
{
    // A bound, so that a queue nobody reads fails its publishers instead of growing without end.
    private const int Capacity = TopicQueueAdapterFactory.TopicQueueGrainCapacity;

    private readonly TopicBarrier _barrier = new();
    private Queue<TopicBatch> _queue = new();
    private TaskCompletionSource? _arrived;

    // Starts above any number a previous activation of this queue handed out, as Orleans' does.
    private long _next = DateTime.UtcNow.Ticks;

    public Task<long> Enqueue(StreamId stream, TopicEvent[] events)
    {
        if (_queue.Count >= Capacity)
        {
            throw new InvalidOperationException($"Topic queue {this.GetPrimaryKeyString()} is full ({Capacity} publishes); nobody reads it.");
        }

        var position = _next++;
        _queue.Enqueue(new TopicBatch(stream, events, new EventSequenceTokenV2(position)));
        if (_arrived is { } arrived)
        {
            _arrived = null;
            arrived.TrySetResult();
        }

        return Task.FromResult(position);
    }

    public async Task<TopicBatch[]> Dequeue(int maxCount, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (_queue.Count == 0)
        {
            _arrived ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                await _arrived.Task.WaitAsync(wait, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                return [];
            }
        }

        // A reader that stopped while it waited (its agent shut down or handed the queue over) leaves
        // what arrived to the next one; another waiting reader may have taken it already.
        if (cancellationToken.IsCancellationRequested)
        {
            return [];
        }

        var batches = new TopicBatch[Math.Min(maxCount, _queue.Count)];
        for (var i = 0; i < batches.Length; i++)
        {
            batches[i] = _queue.Dequeue();
        }

        return batches;
    }

    public Task<long> Position() => Task.FromResult(_next);

    public Task<TopicBarrierTicket> Join(StreamId stream, Guid subscriber, ITopicBarrierObserver observer) =>
        Task.FromResult(new TopicBarrierTicket(_barrier.Join(stream, subscriber, observer, _next), _barrier.Incarnation));

    public Task Leave(StreamId stream, Guid subscriber)
    {
        _barrier.Leave(stream, subscriber);
        return Task.CompletedTask;
    }

    public Task Queued(Guid subscriber, ITopicBarrierObserver observer, TopicAck[] acks)
    {
        foreach (var ack in acks)
        {
            _barrier.Queued(subscriber, observer, ack.Stream, ack.Position, ack.Incarnation);
        }

        return Task.CompletedTask;
    }

    public Task<Guid[]> WaitQueued(StreamId stream, long position, TimeSpan bound) => _barrier.WaitQueued(stream, position, bound);

    void IGrainMigrationParticipant.OnDehydrate(IDehydrationContext dehydrationContext)
    {
        dehydrationContext.TryAddValue("queue", _queue.ToArray());
        dehydrationContext.TryAddValue("next", _next);
    }

    void IGrainMigrationParticipant.OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (rehydrationContext.TryGetValue<TopicBatch[]>("queue", out var queue) && queue is not null
            && rehydrationContext.TryGetValue<long>("next", out var next))
        {
            (_queue, _next) = (new Queue<TopicBatch>(queue), next);
        }
    }
}
