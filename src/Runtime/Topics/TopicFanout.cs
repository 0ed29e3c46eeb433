using System.Buffers;
using Microsoft.Extensions.Logging;

namespace OrleansWs.Internal;

/// <summary>
/// Topic fan-out on one gateway, over the topic seam's <see cref="ITopicSubscriber"/>. Each topic with local members has
/// exactly one bus subscription here; a published message arrives once per gateway and is queued on
/// every local member's socket except the sender's, so a publish costs O(gateways) in the cluster.
/// </summary>
/// <remarks>
/// The join fence: a member gets what was published after it joined, nothing accepted before, even
/// when that reaches the gateway after the join (a backlog in flight, or a publish the bus hands a new
/// subscription). A join asks where the topic stands (<see cref="ITopicSubscriber.Position"/>) and the
/// member then gets only publishes at or above that position. A member that joins a topic it is in
/// already keeps the position it joined at: moving it would drop publishes in flight between the two.
/// </remarks>
internal sealed class TopicFanout<TMember>(ITopicSubscriber bus, ILogger logger) where TMember : class, ITopicMember
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Topic> _topics = new(StringComparer.Ordinal);
    // The topics each local member is in, so that its end takes it out of all of them.
    private readonly Dictionary<TMember, HashSet<string>> _joined = [];

    /// <summary>
    /// Joins <paramref name="member"/> to <paramref name="topic"/>; returns once the topic's bus subscription is in place,
    /// with the position the member joined at (it gets publishes at or above it).
    /// </summary>
    public async Task<TopicPosition> Subscribe(string topic, TMember member)
    {
        // Where the topic stands before the join: publishes accepted earlier stay out.
        var joinedAt = await bus.Position(topic);
        Topic entry;
        lock (_lock)
        {
            // A member that ends is closing before it is released: a join still on its way then must not bring it back.
            if (member.Closing)
            {
                return joinedAt;
            }

            if (!_topics.TryGetValue(topic, out entry!))
            {
                entry = new Topic(this, topic);
                _topics.Add(topic, entry);
                entry.Subscription = SubscribeBus(entry);
            }

            if (!entry.Members.TryAdd(member, joinedAt))
            {
                joinedAt = entry.Members[member]; // joined already: keeps what it has been promised
            }

            if (!_joined.TryGetValue(member, out var joined))
            {
                _joined.Add(member, joined = new(StringComparer.Ordinal));
            }

            joined.Add(topic);
        }

        await entry.Subscription!;
        return joinedAt;
    }

    /// <summary>Takes <paramref name="member"/> out of <paramref name="topic"/>; the last local member drops the bus subscription.</summary>
    public void Unsubscribe(string topic, TMember member)
    {
        Topic? emptied;
        lock (_lock)
        {
            emptied = Leave(topic, member);
        }

        if (emptied is not null)
        {
            _ = Drop(emptied);
        }
    }

    /// <summary>Takes a closing member out of all its topics; later joins for it are ignored.</summary>
    public void Release(TMember member)
    {
        string[] topics;
        lock (_lock)
        {
            topics = _joined.TryGetValue(member, out var joined) ? [.. joined] : [];
        }

        foreach (var topic in topics)
        {
            Unsubscribe(topic, member);
        }
    }

    /// <summary>The local members of <paramref name="topic"/>; 0 when this gateway holds no subscription for it.</summary>
    public int Members(string topic)
    {
        lock (_lock)
        {
            return _topics.TryGetValue(topic, out var entry) ? entry.Members.Count : 0;
        }
    }

    /// <summary>The topics this gateway holds a bus subscription for.</summary>
    public IReadOnlyCollection<string> Topics
    {
        get
        {
            lock (_lock)
            {
                return [.. _topics.Keys];
            }
        }
    }

    // Under _lock. Returns the topic's entry when its last member left (its subscription is to be dropped).
    private Topic? Leave(string topic, TMember member)
    {
        // Also when the topic's entry is gone (its bus subscription failed): the member must not keep it.
        if (_joined.TryGetValue(member, out var joined) && joined.Remove(topic) && joined.Count == 0)
        {
            _joined.Remove(member);
        }

        if (!_topics.TryGetValue(topic, out var entry) || !entry.Members.Remove(member))
        {
            return null;
        }

        if (entry.Members.Count > 0)
        {
            return null;
        }

        _topics.Remove(topic);
        return entry;
    }

    private async Task SubscribeBus(Topic entry)
    {
        try
        {
            // From the start: joins ask for their positions outside the lock, so a later joiner can hold an
            // earlier position than the one that made the subscription. Each member's own position filters.
            entry.Handle = await bus.Subscribe(entry.Name, TopicPosition.Start, entry);
        }
        catch (Exception ex)
        {
            TopicsLog.TopicSubscribeFailed(logger, ex, entry.Name);
            lock (_lock)
            {
                if (_topics.TryGetValue(entry.Name, out var current) && current == entry)
                {
                    _topics.Remove(entry.Name);
                }
            }

            throw;
        }
    }

    private async Task Drop(Topic entry)
    {
        try
        {
            await entry.Subscription!;
            await entry.Handle!.Unsubscribe();
        }
        catch (Exception ex)
        {
            TopicsLog.TopicUnsubscribeFailed(logger, ex, entry.Name);
        }
    }

    // The subscription was fenced (its receiver failed, or the bus gave up on this gateway): its members
    // are closed, so that their clients reconnect rather than miss publishes silently, and it goes.
    private void Fence(Topic entry)
    {
        KeyValuePair<TMember, TopicPosition>[] members;
        lock (_lock)
        {
            if (!_topics.TryGetValue(entry.Name, out var current) || current != entry)
            {
                return;
            }

            members = [.. entry.Members];
            foreach (var (member, _) in members)
            {
                Leave(entry.Name, member);
            }
        }

        TopicsLog.TopicFenced(logger, entry.Name, members.Length);
        foreach (var (member, _) in members)
        {
            member.Close(CloseCodes.TryAgainLater, "topic delivery interrupted; reconnect");
        }

        _ = Drop(entry);
    }

    // One bus subscription. Deliveries to an entry that has been dropped reach no one, so a topic
    // re-subscribed while its old subscription is being torn down never duplicates a message.
    private sealed class Topic(TopicFanout<TMember> fanout, string name) : ITopicReceiver
    {
        public string Name { get; } = name;

        /// <summary>Each local member, with the position it joined at.</summary>
        public Dictionary<TMember, TopicPosition> Members { get; } = [];

        public Task? Subscription { get; set; }

        public ITopicSubscription? Handle { get; set; }

        // Where the last delivery stood in the log: its entry's position, and its place in that entry.
        private (TopicPosition Position, int Index) _last = (TopicPosition.Start, -1);

        public ValueTask OnPublished(TopicPosition position, TopicEvent published)
        {
            // Deliveries of one subscription come one at a time, in log order.
            var index = _last.Position == position ? _last.Index + 1 : 0;
            _last = (position, index);

            // Delivering may write to the socket on this thread, so it happens outside the lock that
            // joins and every other topic's fan-out need; the copy is of references and positions only.
            KeyValuePair<TMember, TopicPosition>[] members;
            int count;
            lock (fanout._lock)
            {
                count = Members.Count;
                members = ArrayPool<KeyValuePair<TMember, TopicPosition>>.Shared.Rent(count);
                ((ICollection<KeyValuePair<TMember, TopicPosition>>)Members).CopyTo(members, 0);
            }

            try
            {
                foreach (var (member, joinedAt) in members.AsSpan(0, count))
                {
                    if (position >= joinedAt
                        && !string.Equals(member.PeerId, published.ExcludePeerId, StringComparison.Ordinal)
                        && (published.Namespace is null || string.Equals(member.Namespace, published.Namespace, StringComparison.Ordinal)))
                    {
                        member.Deliver(published.Message, Name, position, index);
                    }
                }
            }
            finally
            {
                ArrayPool<KeyValuePair<TMember, TopicPosition>>.Shared.Return(members, clearArray: true);
            }

            // Queued on every socket by now.
            return ValueTask.CompletedTask;
        }

        public void OnFenced() => fanout.Fence(this);
    }
}
