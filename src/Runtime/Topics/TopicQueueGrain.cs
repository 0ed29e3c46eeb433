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
    // Each topic's last position in this activation, which the next publish names as its Previous.
    private Dictionary<StreamId, long> _last = [];
    private TaskCompletionSource? _arrived;

    // Starts above any number a previous activation of this queue handed out, as Orleans' does.
    private long _next = DateTime.UtcNow.Ticks;

    public Task<long> Enqueue(StreamId stream, TopicEvent[] events)
    {
        if (_queue.Count >= Capacity)
        {
            throw new InvalidOperationException($"Topic queue {this.GetPrimaryKeyString()} is full ({Capacity} publishes); nobody reads it.");
        }

        if (events.Length == 0)
        {
            throw new ArgumentException("A publish has at least one message.", nameof(events));
        }

        var position = _next++;
        // Only topics with barrier members keep their chain (a subscription checks it once its marker came).
        if (_barrier.Members(stream) > 0)
        {
            events[0] = events[0] with { Previous = _last.TryGetValue(stream, out var previous) ? previous : TopicEvent.None };
            _last[stream] = position;
        }
        else
        {
            _last.Remove(stream);
        }

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

    public async Task<TopicBarrierTicket> Join(StreamId stream, Guid subscriber, ITopicBarrierObserver observer)
    {
        // The marker is a publish of the topic like any other: the subscription that sees it has been
        // delivered everything from there on, and counts from its position.
        var marker = await Enqueue(stream, [new TopicEvent(Message.FromBytes([]), ExcludePeerId: null, Marker: subscriber)]);
        return new TopicBarrierTicket(_barrier.Join(stream, subscriber, observer, marker), _barrier.Incarnation);
    }

    public Task Leave(StreamId stream, Guid subscriber)
    {
        _barrier.Leave(stream, subscriber);
        if (_barrier.Members(stream) == 0)
        {
            _last.Remove(stream);
        }

        return Task.CompletedTask;
    }

    public Task Queued(TopicAck[] acks, ITopicBarrierObserver observer)
    {
        foreach (var ack in acks)
        {
            _barrier.Queued(ack.Subscriber, observer, ack.Stream, ack.Position, ack.Incarnation);
        }

        return Task.CompletedTask;
    }

    public async Task<TopicEnqueued> EnqueueQueued(StreamId stream, TopicEvent[] events, TimeSpan bound)
    {
        // Enqueue completes synchronously: the publish is queued before this call first awaits.
        var position = await Enqueue(stream, events);
        return new TopicEnqueued(position, await _barrier.WaitQueued(stream, position, bound));
    }

    void IGrainMigrationParticipant.OnDehydrate(IDehydrationContext dehydrationContext)
    {
        dehydrationContext.TryAddValue("queue", _queue.ToArray());
        dehydrationContext.TryAddValue("next", _next);
        dehydrationContext.TryAddValue("last", _last);
    }

    void IGrainMigrationParticipant.OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (rehydrationContext.TryGetValue<TopicBatch[]>("queue", out var queue) && queue is not null
            && rehydrationContext.TryGetValue<long>("next", out var next))
        {
            (_queue, _next) = (new Queue<TopicBatch>(queue), next);
            if (rehydrationContext.TryGetValue<Dictionary<StreamId, long>>("last", out var last) && last is not null)
            {
                _last = last;
            }
        }
    }
}
