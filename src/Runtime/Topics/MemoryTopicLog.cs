using Orleans.Providers.Streams.Common;
using Orleans.Runtime;

namespace OrleansWs.Internal;

/// <summary>
/// The topic log held in this process: the embedded default, and the test kit's (one instance shared by all of
/// its silos, so that it outlives a silo killed in a test as the kit's storage does).
/// </summary>
/// <remarks>Everything it holds goes with the process. One process is one silo here, so nothing else is lost with it.</remarks>
internal sealed class MemoryTopicLog(TopicLogLimits limits, TimeProvider time) : ITopicLog
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Partition> _partitions = [];
    private readonly Dictionary<string, Queue<(TopicBatch Publish, long At)>> _history = [];
    private readonly Dictionary<string, (Guid Write, int Index, long At)> _appended = [];
    private readonly Queue<(string Publisher, long At)> _appendedAt = new();
    private readonly Dictionary<uint, TopicPosition> _checkpoints = [];
    private long _next = 1;
    private long _appends;

    /// <summary>Creates a log with the default limits on the system clock (which trims histories by age, never numbers them).</summary>
    public MemoryTopicLog()
        : this(TopicLogLimits.Default, TimeProvider.System)
    {
    }

    /// <inheritdoc />
    public bool Writable => true;

    /// <inheritdoc />
    public Task<TopicBatch?> Append(uint partition, string topic, TopicEvent[] events, TopicAppendId? id = null)
    {
        if (events.Length == 0)
        {
            throw new ArgumentException("A publish has at least one message.", nameof(events));
        }

        TaskCompletionSource? arrived;
        TopicBatch batch;
        lock (_lock)
        {
            var now = time.GetTimestamp();
            if (id is { } appendId && !FirstTime(appendId, now))
            {
                return Task.FromResult<TopicBatch?>(null);
            }

            var history = HistoryOf(topic, now);
            var previous = history.Count > 0 ? history.Last().Publish.Token.SequenceNumber : TopicEvent.None;
            var copy = (TopicEvent[])events.Clone();
            copy[0] = copy[0] with { Previous = previous };
            batch = new TopicBatch(StreamId.Create(OrleansWsNames.TopicNamespace, topic), copy, new EventSequenceTokenV2(_next++));
            history.Enqueue((batch, now));
            while (history.Count > limits.HistoryCount)
            {
                history.Dequeue();
            }

            var log = PartitionOf(partition);
            log.Entries.Add(batch);
            // Trimmed in steps of a quarter, so that trimming costs O(1) per append.
            if (log.Entries.Count > limits.PartitionLength + (limits.PartitionLength / 4))
            {
                log.Entries.RemoveRange(0, log.Entries.Count - limits.PartitionLength);
            }

            (arrived, log.Arrived) = (log.Arrived, null);
            if (++_appends % 1024 == 0)
            {
                SweepHistories(now);
            }
        }

        arrived?.TrySetResult();
        return Task.FromResult<TopicBatch?>(batch);
    }

    /// <inheritdoc />
    public async Task<TopicBatch[]> Read(uint partition, TopicPosition after, int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        Task arrived;
        lock (_lock)
        {
            var found = After(PartitionOf(partition).Entries, after, max);
            if (found.Length > 0 || wait <= TimeSpan.Zero)
            {
                return found;
            }

            arrived = (PartitionOf(partition).Arrived ??= new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        try
        {
            await arrived.WaitAsync(wait, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            return [];
        }

        lock (_lock)
        {
            return After(PartitionOf(partition).Entries, after, max);
        }
    }

    /// <inheritdoc />
    public Task<TopicPosition> End(uint partition)
    {
        lock (_lock)
        {
            var entries = PartitionOf(partition).Entries;
            return Task.FromResult(entries.Count == 0 ? TopicPosition.Start : new TopicPosition(entries[^1].Token.SequenceNumber));
        }
    }

    /// <inheritdoc />
    public Task<TopicHistoryRead> History(string topic, TopicPosition after, int max)
    {
        lock (_lock)
        {
            var history = HistoryOf(topic, time.GetTimestamp());
            var kept = history.Select(h => h.Publish).ToList();
            var found = kept.Where(p => p.Token.SequenceNumber > after.Value).Take(max).ToArray();
            var first = kept.FirstOrDefault(p => p.Token.SequenceNumber > after.Value);
            return Task.FromResult(new TopicHistoryRead(found, TopicHistoryRead.Lost(after, first)));
        }
    }

    /// <inheritdoc />
    public Task<TopicPosition?> Checkpoint(uint partition)
    {
        lock (_lock)
        {
            return Task.FromResult<TopicPosition?>(_checkpoints.TryGetValue(partition, out var position) ? position : null);
        }
    }

    /// <inheritdoc />
    public Task SaveCheckpoint(uint partition, TopicPosition position)
    {
        lock (_lock)
        {
            if (!_checkpoints.TryGetValue(partition, out var saved) || saved < position)
            {
                _checkpoints[partition] = position;
            }
        }

        return Task.CompletedTask;
    }

    private static TopicBatch[] After(List<TopicBatch> entries, TopicPosition after, int max)
    {
        // Positions rise along the list: the first one after `after` by binary search.
        var (low, high) = (0, entries.Count);
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (entries[middle].Token.SequenceNumber <= after.Value)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return entries.GetRange(low, Math.Min(max, entries.Count - low)).ToArray();
    }

    private bool FirstTime(TopicAppendId id, long now)
    {
        while (_appendedAt.TryPeek(out var oldest) && time.GetElapsedTime(oldest.At, now) > TopicLogLimits.AppendIdWindow)
        {
            _appendedAt.Dequeue();
            if (_appended.TryGetValue(oldest.Publisher, out var entry) && entry.At == oldest.At)
            {
                _appended.Remove(oldest.Publisher);
            }
        }

        if (_appended.TryGetValue(id.Publisher, out var last) && last.Write == id.Write && last.Index >= id.Index)
        {
            return false;
        }

        _appended[id.Publisher] = (id.Write, id.Index, now);
        _appendedAt.Enqueue((id.Publisher, now));
        return true;
    }

    // Topics nobody published to for longer than the history's age are forgotten.
    private void SweepHistories(long now)
    {
        foreach (var (topic, history) in _history)
        {
            if (history.Count == 0 || time.GetElapsedTime(history.Last().At, now) > limits.HistoryAge)
            {
                _history.Remove(topic);
            }
        }
    }

    private Queue<(TopicBatch Publish, long At)> HistoryOf(string topic, long now)
    {
        if (!_history.TryGetValue(topic, out var history))
        {
            _history.Add(topic, history = new());
        }

        while (history.TryPeek(out var oldest) && time.GetElapsedTime(oldest.At, now) > limits.HistoryAge)
        {
            history.Dequeue();
        }

        return history;
    }

    private Partition PartitionOf(uint partition)
    {
        if (!_partitions.TryGetValue(partition, out var log))
        {
            _partitions.Add(partition, log = new());
        }

        return log;
    }

    private sealed class Partition
    {
        public List<TopicBatch> Entries { get; } = [];

        public TaskCompletionSource? Arrived { get; set; }
    }
}
