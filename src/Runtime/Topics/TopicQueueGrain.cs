using Microsoft.Extensions.Logging;

namespace OrleansWs.Internal;

/// <summary>
/// One topic partition: appends its publishes to the topic log, which numbers them, and keeps the causal
/// barrier of its topics (<see cref="TopicBarrier"/>). It holds nothing the log does not: an activation lost
/// with its silo comes back elsewhere with every publish and position intact, and its barrier is rebuilt from
/// the gateways' next acknowledgements.
/// </summary>
[KeepAlive] // its barrier is rebuilt from acknowledgements only: collecting it for idleness would empty it
internal sealed class TopicQueueGrain(ITopicLog log, TopicPartitions partitions, IClusterMembershipService membership, ILogger<TopicQueueGrain> logger)
    : Grain, ITopicQueueGrain
{
    private readonly TopicBarrier _barrier = new();
    private uint? _partition;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A log in one silo's memory is read by whichever silo holds the partition's reader: with two silos, publishes
        // appended on one never reach readers on the other. Said loudly, since nothing else would show it.
        var silos = membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);
        if (log is MemoryTopicLog { SharedBySilos: false } && silos > 1)
        {
            TopicsLog.LogInOneSilo(logger, silos);
        }

        return Task.CompletedTask;
    }

    private uint Partition => _partition ??= partitions.PartitionOf(this.GetPrimaryKeyString());

    public async Task<long> Enqueue(StreamId stream, TopicEvent[] events) => (await Append(stream, events, null)).Position.Value;

    private Task<TopicAppended> Append(StreamId stream, TopicEvent[] events, EffectId? id)
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
        // The marker goes through the partition like a publish: the subscription that sees it has been delivered
        // everything from there on, and counts from its position. Appends are interleaved, so a publish appended just
        // after the marker may have its wait begin before the marker's position is known: the subscription is a member
        // from the start, and a wait that counted it ends with its first acknowledgement after the marker.
        _barrier.Join(stream, subscriber, observer, from: long.MinValue + 1);
        TopicAppended marker;
        try
        {
            marker = await Append(stream, [new TopicEvent(Message.FromBytes([]), ExcludePeerId: null, Marker: subscriber)], null);
        }
        catch
        {
            _barrier.Leave(stream, subscriber);
            throw;
        }

        return new TopicBarrierTicket(_barrier.Join(stream, subscriber, observer, marker.Position.Value), _barrier.Incarnation);
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

    public async Task<long[]> Tails(StreamId[] streams, TopicAck[] acks, ITopicBarrierObserver observer)
    {
        await Queued(acks, observer);
        var last = await log.Last([.. streams.Select(s => s.GetKeyAsString())]);
        return [.. last.Select(p => p.Value)];
    }

    public async Task<TopicEnqueued> EnqueueQueued(StreamId stream, TopicEvent[] events, TimeSpan bound, EffectId? id = null)
    {
        // Appended before (asked again after a silo died with the call, or an outbox released again): it is waited for
        // again, so that what the publisher does next still comes after it everywhere.
        var appended = await Append(stream, events, id);
        var position = appended.Position.Value;
        return appended.Position == TopicPosition.Start
            ? new TopicEnqueued(TopicEvent.None, [])
            : new TopicEnqueued(position, await _barrier.WaitQueued(stream, position, bound));
    }
}
