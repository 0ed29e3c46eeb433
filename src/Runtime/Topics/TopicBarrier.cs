namespace OrleansWs.Internal;

/// <summary>
/// The causal barrier of the topics of one queue, kept by its <see cref="TopicQueueGrain"/>: for each topic,
/// the subscribers (one per gateway) whose acknowledgement a publish waits for, how far each has queued,
/// and the waits in progress. Single-threaded, as the grain that holds it.
/// </summary>
/// <remarks>
/// A subscriber is a member of a topic's barrier from the position it joined at, which it took once its
/// stream subscription was in place, so it is delivered every publish from there on. A member that has not
/// acknowledged a publish when the wait's bound passes is fenced: it leaves the barrier and is told, and
/// ends its subscription (its sockets of the topic are closed). Waits never outlive their bound, and a
/// member that leaves releases the waits that counted it.
/// </remarks>
internal sealed class TopicBarrier
{
    private readonly Dictionary<StreamId, Dictionary<Guid, Member>> _members = [];
    private readonly Dictionary<StreamId, List<Wait>> _waits = [];

    /// <summary>This barrier's incarnation: an acknowledgement carrying another one was made to a barrier that no longer exists.</summary>
    public Guid Incarnation { get; } = Guid.NewGuid();

    /// <summary>
    /// Makes <paramref name="subscriber"/> a member of <paramref name="stream"/>'s barrier from <paramref name="from"/>
    /// (its join marker). A member joining again (its earlier marker never reached it) counts from the new
    /// one: waits below it stop counting it.
    /// </summary>
    public long Join(StreamId stream, Guid subscriber, ITopicBarrierObserver observer, long from)
    {
        var members = MembersOf(stream);
        members[subscriber] = new Member(observer, from);
        Release(stream, subscriber, from - 1);
        return from;
    }

    /// <summary>Takes <paramref name="subscriber"/> out of <paramref name="stream"/>'s barrier; waits stop counting it.</summary>
    public void Leave(StreamId stream, Guid subscriber)
    {
        if (!_members.TryGetValue(stream, out var members) || !members.Remove(subscriber))
        {
            return;
        }

        if (members.Count == 0)
        {
            _members.Remove(stream);
        }

        Release(stream, subscriber, long.MaxValue);
    }

    /// <summary>
    /// <paramref name="subscriber"/> queued every publish of the stream up to the position. An acknowledgement
    /// made to this incarnation by a subscriber that is no member (it left or was fenced) is ignored; one made
    /// to an earlier incarnation (the queue was re-created) makes it a member again.
    /// </summary>
    public void Queued(Guid subscriber, ITopicBarrierObserver observer, StreamId stream, long position, Guid incarnation)
    {
        var members = MembersOf(stream);
        if (!members.TryGetValue(subscriber, out var member))
        {
            if (incarnation == Incarnation)
            {
                if (members.Count == 0)
                {
                    _members.Remove(stream);
                }

                return;
            }

            members.Add(subscriber, member = new Member(observer, from: position));
        }

        if (position > member.Queued)
        {
            member.Queued = position;
            Release(stream, subscriber, position);
        }
    }

    /// <summary>
    /// Waits until every member that joined at or below <paramref name="position"/> has queued it, for at most
    /// <paramref name="bound"/>; fences the members that had not. Returns the fenced members.
    /// </summary>
    public async Task<Guid[]> WaitQueued(StreamId stream, long position, TimeSpan bound)
    {
        if (!_members.TryGetValue(stream, out var members))
        {
            return [];
        }

        HashSet<Guid>? pending = null;
        foreach (var (id, member) in members)
        {
            if (member.From <= position && member.Queued < position)
            {
                (pending ??= []).Add(id);
            }
        }

        if (pending is null)
        {
            return [];
        }

        var wait = new Wait(position, pending);
        if (!_waits.TryGetValue(stream, out var waits))
        {
            _waits.Add(stream, waits = []);
        }

        waits.Add(wait);
        try
        {
            await wait.Done.Task.WaitAsync(bound);
            return [];
        }
        catch (TimeoutException)
        {
            var fenced = wait.Pending.ToArray();
            foreach (var id in fenced)
            {
                if (members.TryGetValue(id, out var member))
                {
                    Leave(stream, id);
                    _ = member.Observer.Fenced(stream, id);
                }
            }

            return fenced;
        }
        finally
        {
            if (_waits.TryGetValue(stream, out waits) && waits.Remove(wait) && waits.Count == 0)
            {
                _waits.Remove(stream);
            }
        }
    }

    /// <summary>How many subscribers each topic of this queue waits for (for tests and diagnostics).</summary>
    public int Members(StreamId stream) => _members.TryGetValue(stream, out var members) ? members.Count : 0;

    private Dictionary<Guid, Member> MembersOf(StreamId stream)
    {
        if (!_members.TryGetValue(stream, out var members))
        {
            _members.Add(stream, members = []);
        }

        return members;
    }

    // Waits at or below `position` no longer need `subscriber`.
    private void Release(StreamId stream, Guid subscriber, long position)
    {
        if (!_waits.TryGetValue(stream, out var waits))
        {
            return;
        }

        foreach (var wait in waits)
        {
            if (wait.Position <= position && wait.Pending.Remove(subscriber) && wait.Pending.Count == 0)
            {
                wait.Done.TrySetResult();
            }
        }
    }

    private sealed class Member(ITopicBarrierObserver observer, long from)
    {
        public ITopicBarrierObserver Observer { get; } = observer;

        public long From { get; } = from;

        // Nothing at or above From is queued yet.
        public long Queued { get; set; } = from - 1;
    }

    private sealed class Wait(long position, HashSet<Guid> pending)
    {
        public long Position { get; } = position;

        public HashSet<Guid> Pending { get; } = pending;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
