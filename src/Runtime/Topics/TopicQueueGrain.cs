namespace OrleansWs.Internal;

/// <summary>
/// One topic partition: appends its publishes to the topic log, which numbers them, and keeps the causal
/// barrier of its topics (<see cref="TopicBarrier"/>). It holds nothing the log does not: an activation lost
/// with its silo comes back elsewhere with every publish and position intact, and its barrier is rebuilt from
/// the gateways' next acknowledgements.
/// </summary>
[KeepAlive] // its barrier is rebuilt from acknowledgements only: collecting it for idleness would empty it
internal sealed class TopicQueueGrain(ITopicLog log, TopicPartitions partitions) : Grain, ITopicQueueGrain
{
    private readonly TopicBarrier _barrier = new();
    private uint? _partition;

    private uint Partition => _partition ??= partitions.PartitionOf(this.GetPrimaryKeyString());

    public async Task<long> Enqueue(StreamId stream, TopicEvent[] events) => (await Append(stream, events, null))?.Token.SequenceNumber ?? TopicEvent.None;

    private Task<TopicBatch?> Append(StreamId stream, TopicEvent[] events, TopicAppendId? id)
    {
        if (events.Length == 0)
        {
            throw new ArgumentException("A publish has at least one message.", nameof(events));
        }

        return log.Append(Partition, stream.GetKeyAsString(), events, id);
    }

    public async Task<long> Position()
    {
        var end = await log.End(Partition);
        return end.Value + 1;
    }

    public Task<TopicHistoryRead> History(StreamId stream, long after, int max) =>
        log.History(stream.GetKeyAsString(), new TopicPosition(after), max);

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

    public async Task<TopicEnqueued> EnqueueQueued(StreamId stream, TopicEvent[] events, TimeSpan bound, TopicAppendId? id = null)
    {
        if (await Append(stream, events, id) is not { } appended)
        {
            // Appended before (a record's outbox released again after a crash): whoever waited for it then did.
            return new TopicEnqueued(TopicEvent.None, []);
        }

        var position = appended.Token.SequenceNumber;
        return new TopicEnqueued(position, await _barrier.WaitQueued(stream, position, bound));
    }
}
