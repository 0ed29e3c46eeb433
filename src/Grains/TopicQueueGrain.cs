using Orleans.Providers.Streams.Common;
using OrleansWs.Protocol;

namespace OrleansWs;

/// <summary>
/// One topic queue held in memory, as Orleans' memory streams hold theirs: what a silo holding it
/// takes with it when it dies is lost. A reader that finds nothing new waits here for the next publish.
/// Publishes leave the queue when the reader acknowledges them (its next read names the last one it
/// got), so a read whose reply never arrived — the reader stopped, or its silo died, while the read
/// waited here — is answered again to the next reader instead of lost.
/// </summary>
[KeepAlive] // collecting a queue nobody happened to read for a while would drop its publishes
internal sealed class TopicQueueGrain : Grain, ITopicQueueGrain, IGrainMigrationParticipant
{
    // A bound, so that a queue nobody reads fails its publishers instead of growing without end.
    private const int Capacity = TopicQueueAdapterFactory.TopicQueueGrainCapacity;

    private Queue<TopicBatch> _queue = new();
    private TaskCompletionSource? _arrived;

    // Sequence numbers this activation hands out, from _first on; it starts above any number a previous
    // activation of this queue handed out, as Orleans' does.
    private long _first = DateTime.UtcNow.Ticks;
    private long _next;

    public TopicQueueGrain() => _next = _first;

    public Task Enqueue(StreamId stream, TopicEvent[] events)
    {
        if (_queue.Count >= Capacity)
        {
            throw new InvalidOperationException($"Topic queue {this.GetPrimaryKeyString()} is full ({Capacity} publishes); nobody reads it.");
        }

        _queue.Enqueue(new TopicBatch(stream, events, new EventSequenceTokenV2(_next++)));
        if (_arrived is { } arrived)
        {
            _arrived = null;
            arrived.TrySetResult();
        }

        return Task.CompletedTask;
    }

    public async Task<TopicBatch[]> Dequeue(long received, int maxCount, TimeSpan wait, CancellationToken cancellationToken)
    {
        // A number this activation never handed out comes from a reader of an earlier activation: it acknowledges nothing here.
        var after = received >= _first && received < _next ? received : _first - 1;
        while (_queue.TryPeek(out var head) && head.Token.SequenceNumber <= after)
        {
            _queue.Dequeue();
        }

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

        // Unacknowledged publishes go to whichever reader asks: after a hand-over between silos the new
        // reader may get a few that the old one got too (at least once rather than at most once).
        return _queue.SkipWhile(b => b.Token.SequenceNumber <= after).Take(maxCount).ToArray();
    }

    void IGrainMigrationParticipant.OnDehydrate(IDehydrationContext dehydrationContext)
    {
        dehydrationContext.TryAddValue("queue", _queue.ToArray());
        dehydrationContext.TryAddValue("first", _first);
        dehydrationContext.TryAddValue("next", _next);
    }

    void IGrainMigrationParticipant.OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (rehydrationContext.TryGetValue<TopicBatch[]>("queue", out var queue) && queue is not null
            && rehydrationContext.TryGetValue<long>("first", out var first)
            && rehydrationContext.TryGetValue<long>("next", out var next))
        {
            (_queue, _first, _next) = (new Queue<TopicBatch>(queue), first, next);
        }
    }
}
