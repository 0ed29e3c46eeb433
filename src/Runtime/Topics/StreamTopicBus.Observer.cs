using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansWs.Internal;

// One subscription's deliveries: the join marker, gaps and repeats, and the acknowledgements in order.
internal sealed partial class StreamTopicBus
{
    private sealed partial class Observer(StreamTopicBus bus, string topic, StreamId stream, TopicPosition from, ITopicReceiver receiver) : IAsyncObserver<TopicEvent>
    {
        private readonly Lock _lock = new();
        // One delivery at a time: Orleans' (one after another), and a catch-up the bus's check starts.
        private readonly SemaphoreSlim _gate = new(1, 1);
        private long _lastDelivery = System.Diagnostics.Stopwatch.GetTimestamp();
        private bool _fenced;
        // The barrier membership: asked for (the queue's answer to Join), and in place (its marker came).
        private TopicBarrierTicket? _asked;
        private TopicBarrierTicket? _ticket;
        private TaskCompletionSource? _marker;
        // The position of the last of its own markers this subscription saw, which may come before the answer.
        private long _ownMarker = TopicEvent.None;
        // The last message this subscription was delivered (so that it sees a gap or a repeat), and the
        // last publish it queued whole.
        private long _last = TopicEvent.None;
        private int _lastIndex = -1;
        // The topic's last publish as this subscription knows it: the last one it was delivered, or the one its own marker
        // followed (nothing before that was owed to it). A history read from here tells a gap from a topic's first
        // publish; one from _last, which may be a marker, cannot.
        private long _chain = TopicEvent.None;
        private long _queued = TopicEvent.None;
        // Deliveries whose queuing has not completed, in order; null when none (and no drain runs).
        private Queue<(TopicPosition Position, bool End, Task Queued)>? _pending;

        /// <summary>This subscription's identity in its topic's barrier.</summary>
        public Guid Id { get; } = Guid.NewGuid();

        public string Topic { get; } = topic;

        public StreamId Stream { get; } = stream;

        public bool Ended { get; set; }

        /// <summary>Its Orleans stream subscription (the bus's lock guards it); renewed when Orleans dropped it.</summary>
        public StreamSubscriptionHandle<TopicEvent>? StreamHandle { get; set; }

        /// <summary>Fenced or ended: it will never be in place.</summary>
        public bool Over
        {
            get
            {
                lock (_lock)
                {
                    return _fenced || Ended;
                }
            }
        }

        /// <summary>Waits up to <paramref name="patience"/> for the marker of <paramref name="ticket"/>; whether it came.</summary>
        public async Task<bool> Joined(TopicBarrierTicket ticket, TimeSpan patience)
        {
            TaskCompletionSource marker;
            lock (_lock)
            {
                if (_ownMarker == ticket.From)
                {
                    // The marker came before the answer: what was queued since has not been acknowledged yet.
                    _ticket = ticket;
                    if (_queued >= ticket.From)
                    {
                        bus.Acknowledge(this, ticket, new TopicPosition(_queued));
                    }

                    return true;
                }

                (_asked, _marker) = (ticket, marker = new(TaskCreationOptions.RunContinuationsAsynchronously));
            }

            try
            {
                await marker.Task.WaitAsync(patience);
                return true;
            }
            catch (TimeoutException)
            {
                return false;
            }
        }

        public Task OnNextAsync(TopicEvent item, StreamSequenceToken? token = null)
        {
            if (token is null)
            {
                return Task.CompletedTask;
            }

            Volatile.Write(ref _lastDelivery, System.Diagnostics.Stopwatch.GetTimestamp());
            if (!_gate.Wait(0))
            {
                return Gated(item, token);
            }

            Task delivered;
            try
            {
                delivered = Deliver(item, token);
            }
            catch
            {
                _gate.Release();
                throw;
            }

            if (delivered.IsCompleted)
            {
                _gate.Release();
                return delivered;
            }

            return ReleaseAfter(delivered);
        }

        private Task Deliver(TopicEvent item, StreamSequenceToken token) =>
            Missed(item, token) is { } after ? CatchUp(after, item, token) : Handle(item, token);

        private async Task Gated(TopicEvent item, StreamSequenceToken token)
        {
            await _gate.WaitAsync();
            try
            {
                await Deliver(item, token);
            }
            finally
            {
                _gate.Release();
            }
        }

        private async Task ReleaseAfter(Task delivered)
        {
            try
            {
                await delivered;
            }
            finally
            {
                _gate.Release();
            }
        }

        // Where this subscription's view of its topic stops (the last publish it knows: see _chain), when the publish handed
        // to it follows one it never saw (one after its marker): a reader that lost a batch with its silo, or a cache that
        // let one go.
        private long? Missed(TopicEvent item, StreamSequenceToken token)
        {
            lock (_lock)
            {
                var repeat = token.SequenceNumber < _last || (token.SequenceNumber == _last && token.EventIndex <= _lastIndex);
                return !_fenced && !Ended && !repeat && token.EventIndex == 0 && _ticket is { } joined && _last >= joined.From
                    && item.Previous != TopicEvent.None && item.Previous > _last
                    ? _chain
                    : null;
            }
        }

        private Task Handle(TopicEvent item, StreamSequenceToken token)
        {
            var position = new TopicPosition(token.SequenceNumber);
            TopicBarrierTicket? ticket;
            lock (_lock)
            {
                if (_fenced || Ended)
                {
                    return Task.CompletedTask;
                }

                // Delivered again (a partition read again after its silo died, or a read the agent repeated): it was
                // queued the first time.
                if (position.Value < _last || (position.Value == _last && token.EventIndex <= _lastIndex))
                {
                    return Task.CompletedTask;
                }

                ticket = _ticket;
                (_last, _lastIndex) = (position.Value, token.EventIndex);
                if (item.Marker == Guid.Empty)
                {
                    _chain = position.Value;
                }
                else if (item.Marker == Id && token.EventIndex == 0 && item.Previous > _chain)
                {
                    _chain = item.Previous;
                }

                if (item.Marker == Id)
                {
                    _ownMarker = position.Value;
                    if (_asked is { } asked && asked.From == position.Value)
                    {
                        // In place: from its marker on it is delivered every publish, and the barrier counts it.
                        _ticket = ticket = asked;
                        _marker?.TrySetResult();
                        _marker = null;
                    }
                }
            }

            ValueTask queued = default;
            if (item.Marker == Guid.Empty && position >= from)
            {
                try
                {
                    queued = receiver.OnPublished(position, item);
                }
                catch (Exception ex)
                {
                    // Thrown back to Orleans, the batch would be delivered again (duplicates) and the queue's
                    // cache held for everyone until it gave up: this subscription is fenced instead.
                    TopicsLog.TopicReceiverFailed(bus._logger, ex, Topic);
                    Fence(barrier: false);
                    return Task.CompletedTask;
                }
            }

            bool drain;
            lock (_lock)
            {
                if (queued.IsCompletedSuccessfully && _pending is null)
                {
                    drain = false;
                    ticket = null;
                    if (item.EndOfPublish)
                    {
                        _queued = position.Value;
                        ticket = _ticket;
                    }
                }
                else
                {
                    // Queued later: acknowledged once it and everything before it are.
                    drain = _pending is null;
                    (_pending ??= new()).Enqueue((position, item.EndOfPublish, queued.AsTask()));
                    ticket = null;
                }
            }

            if (drain)
            {
                _ = Drain();
            }
            else if (ticket is { } member)
            {
                bus.Acknowledge(this, member, position);
            }

            return Task.CompletedTask;
        }

        // The one loop that takes queued deliveries in order while any wait; it alone sets _pending to null.
        private async Task Drain()
        {
            while (true)
            {
                (TopicPosition Position, bool End, Task Queued) head;
                lock (_lock)
                {
                    head = _pending!.Peek();
                }

                try
                {
                    await head.Queued;
                }
                catch (Exception ex)
                {
                    TopicsLog.TopicReceiverFailed(bus._logger, ex, Topic);
                    Fence(barrier: false);
                    return;
                }

                TopicBarrierTicket? ticket = null;
                bool done;
                lock (_lock)
                {
                    _pending!.Dequeue();
                    if (head.End)
                    {
                        _queued = head.Position.Value;
                        ticket = _ticket;
                    }

                    done = _pending.Count == 0;
                    if (done)
                    {
                        _pending = null;
                    }
                }

                if (ticket is { } member)
                {
                    bus.Acknowledge(this, member, head.Position);
                }

                if (done)
                {
                    return;
                }
            }
        }

        public void Fence(bool barrier)
        {
            lock (_lock)
            {
                if (_fenced)
                {
                    return;
                }

                _fenced = true;
            }

            if (barrier)
            {
                TopicsLog.TopicBarrierFenced(bus._logger, Topic);
            }

            receiver.OnFenced();
        }

        public Task OnCompletedAsync() => Task.CompletedTask;

        public Task OnErrorAsync(Exception ex)
        {
            TopicsLog.TopicStreamError(bus._logger, ex, Topic);
            return Task.CompletedTask;
        }
    }
}
