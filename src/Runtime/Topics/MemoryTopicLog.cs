using Orleans.Providers.Streams.Common;
using Orleans.Runtime;

namespace OrleansWs.Internal;

/// <summary>
/// The topic log held in this process: the embedded default, and the test kit's (one instance shared by all of
/// its silos, so that it outlives a silo killed in a test as the kit's storage does).
/// </summary>
/// <remarks>Everything it holds goes with the process. One process is one silo here, so nothing else is lost with it.</remarks>
internal sealed class MemoryTopicLog(TopicLogLimits limits, TimeProvider time, bool sharedBySilos = false) : ITopicLog
{
    /// <summary>Whether every silo of the cluster uses this one instance (the test kit's in-process silos); otherwise it serves one silo.</summary>
    public bool SharedBySilos { get; } = sharedBySilos;

    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Partition> _partitions = [];
    private readonly Dictionary<string, Queue<(TopicBatch Publish, long At)>> _history = [];
    private readonly Dictionary<string, (Guid Write, List<long> Positions, long At)> _appended = [];
    // Each topic's last position (its chain), kept apart from the history, which trims it sooner.
    private readonly Dictionary<string, (long Position, long At)> _lastOf = [];
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
    public Task<TopicAppended> Append(uint partition, string topic, TopicEvent[] events, EffectId? id = null)
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
            if (id is { } appendId && Appended(appendId, now) is { } earlier)
            {
                return Task.FromResult(new TopicAppended(null, earlier));
            }

            var previous = _lastOf.TryGetValue(topic, out var last) && time.GetElapsedTime(last.At, now) <= TopicLogLimits.AppendIdWindow
                ? last.Position
                : TopicEvent.None;
            var copy = (TopicEvent[])events.Clone();
            copy[0] = copy[0] with { Previous = previous };
            batch = new TopicBatch(StreamId.Create(OrleansWsNames.TopicNamespace, topic), copy, new EventSequenceTokenV2(_next++));
            if (events[0].Marker == Guid.Empty)
            {
                _lastOf[topic] = (batch.Token.SequenceNumber, now);
                var history = HistoryOf(topic, now);
                history.Enqueue((batch, now));
                while (history.Count > limits.HistoryCount)
                {
                    history.Dequeue();
                }
            }

            if (id is { } named)
            {
                Record(named, batch.Token.SequenceNumber, now);
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
                Sweep(now);
            }
        }

        arrived?.TrySetResult();
        return Task.FromResult(new TopicAppended(batch, new TopicPosition(batch.Token.SequenceNumber)));
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
            if (!_history.ContainsKey(topic))
            {
                return Task.FromResult(new TopicHistoryRead([], _lastOf.TryGetValue(topic, out var last) && last.Position > after.Value));
            }

            var kept = HistoryOf(topic, time.GetTimestamp()).Select(h => h.Publish).Where(p => p.Token.SequenceNumber > after.Value);
            var found = kept.Take(max).ToArray();
            var lost = found.Length == 0
                ? _lastOf.TryGetValue(topic, out var newest) && newest.Position > after.Value
                : TopicHistoryRead.Lost(after, found[0]);
            return Task.FromResult(new TopicHistoryRead(found, lost));
        }
    }

    /// <inheritdoc />
    public Task<TopicPosition[]> Last(IReadOnlyList<string> topics)
    {
        lock (_lock)
        {
            return Task.FromResult(topics.Select(t => _lastOf.TryGetValue(t, out var last) ? new TopicPosition(last.Position) : TopicPosition.Start).ToArray());
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

    // The position of an append of this id made before, or null when there was none (or the log no longer remembers).
    private TopicPosition? Appended(EffectId id, long now)
    {
        if (_appended.TryGetValue(id.Publisher, out var last) && time.GetElapsedTime(last.At, now) <= TopicLogLimits.AppendIdWindow
            && last.Write == id.Write && last.Positions.Count > id.Index)
        {
            return new TopicPosition(last.Positions[id.Index]);
        }

        return null;
    }

    private void Record(EffectId id, long position, long now)
    {
        if (!_appended.TryGetValue(id.Publisher, out var last) || last.Write != id.Write)
        {
            last = (id.Write, [], now);
        }

        last.Positions.Add(position);
        _appended[id.Publisher] = (last.Write, last.Positions, now);
        _appendedAt.Enqueue((id.Publisher, now));
    }

    // Histories older than their age, chains and ids older than the log remembers them, are forgotten.
    private void Sweep(long now)
    {
        foreach (var (topic, history) in _history)
        {
            if (history.Count == 0 || time.GetElapsedTime(history.Last().At, now) > limits.HistoryAge)
            {
                _history.Remove(topic);
            }
        }

        foreach (var (topic, last) in _lastOf)
        {
            if (time.GetElapsedTime(last.At, now) > TopicLogLimits.AppendIdWindow)
            {
                _lastOf.Remove(topic);
            }
        }

        while (_appendedAt.TryPeek(out var oldest) && time.GetElapsedTime(oldest.At, now) > TopicLogLimits.AppendIdWindow)
        {
            _appendedAt.Dequeue();
            if (_appended.TryGetValue(oldest.Publisher, out var entry) && entry.At == oldest.At)
            {
                _appended.Remove(oldest.Publisher);
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
