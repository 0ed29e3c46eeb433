using Orleans.Providers.Streams.Common;
using OrleansWs.Protocol;

namespace OrleansWs;

/// <summary>
/// One topic queue held in memory, as Orleans' memory streams hold theirs: what a silo holding it
/// takes with it when it dies is lost. A reader that finds it empty waits here for the next publish.
/// </summary>
internal sealed class TopicQueueGrain : Grain, ITopicQueueGrain
{
    // As Orleans' memory stream queue: a bound, so that a queue nobody reads fails its publishers
    // instead of growing without end.
    private const int Capacity = 16384;

    private readonly Queue<TopicBatch> _queue = new();
    private TaskCompletionSource? _arrived;

    // Starts above any number a previous activation of this queue handed out, as Orleans' does.
    private long _sequence = DateTime.UtcNow.Ticks;

    public Task Enqueue(StreamId stream, TopicEvent[] events)
    {
        if (_queue.Count >= Capacity)
        {
            throw new InvalidOperationException($"Topic queue {this.GetPrimaryKeyString()} is full ({Capacity} publishes); nobody reads it.");
        }

        _queue.Enqueue(new TopicBatch(stream, events, new EventSequenceTokenV2(_sequence++)));
        if (_arrived is { } arrived)
        {
            _arrived = null;
            arrived.TrySetResult();
        }

        return Task.CompletedTask;
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

        // Another reader (an agent handing this queue over to another silo) may have taken them.
        var batches = new TopicBatch[Math.Min(maxCount, _queue.Count)];
        for (var i = 0; i < batches.Length; i++)
        {
            batches[i] = _queue.Dequeue();
        }

        return batches;
    }
}
