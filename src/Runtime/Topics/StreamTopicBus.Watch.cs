using System.Diagnostics;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansWs.Internal;

// Every second the bus asks each partition where its subscriptions' topics stand. Orleans drops a stream subscription
// without a word when its pulling agent takes the gateway for gone (ClientNotAvailableException after a silo's death):
// a subscription that stopped receiving while its topic went on is caught up from the history and subscribed anew.
// The same call carries each subscription's acknowledgement, so a partition grain re-created after its silo died
// counts every gateway again within a second, not at its next publish.
internal sealed partial class StreamTopicBus
{
    private static readonly TimeSpan WatchPeriod = TimeSpan.FromSeconds(1);
    private bool _watching;

    // Called with an observer just added; the loop runs while there are any.
    private void Watch()
    {
        lock (_lock)
        {
            if (_watching)
            {
                return;
            }

            _watching = true;
        }

        _ = WatchLoop();
    }

    private async Task WatchLoop()
    {
        using var timer = new PeriodicTimer(WatchPeriod);
        while (await timer.WaitForNextTickAsync())
        {
            Observer[] observers;
            lock (_lock)
            {
                observers = [.. _observers.Values];
                if (observers.Length == 0)
                {
                    // Nothing to check: the next subscribe starts the loop again (under the same lock, so none is missed).
                    _watching = false;
                    return;
                }
            }

            foreach (var partition in observers.Where(o => o.InPlace).GroupBy(o => _partitions.QueueOf(_client, o.Stream).GetGrainId()))
            {
                var members = partition.ToArray();
                try
                {
                    var tails = await _partitions.QueueOf(_client, members[0].Stream)
                        .Tails([.. members.Select(m => m.Stream)], [.. members.Select(m => m.Heartbeat())], Self())
                        .WaitAsync(WatchPeriod);
                    for (var i = 0; i < members.Length; i++)
                    {
                        _ = members[i].Check(new TopicPosition(tails[i]));
                    }
                }
                catch (Exception ex) when (ex is OrleansException or TimeoutException)
                {
                    // The partition's silo is going away: the next tick asks again.
                }
                catch (ObjectDisposedException)
                {
                    // The host is stopping: its client is gone.
                    return;
                }
            }
        }
    }

    // A subscription Orleans dropped: a new one for the same observer, then the old one let go.
    private async Task Renew(Observer observer)
    {
        StreamSubscriptionHandle<TopicEvent>? old;
        lock (_lock)
        {
            old = observer.StreamHandle;
        }

        if (old is null || _streams is null)
        {
            return;
        }

        var fresh = await _streams.GetStream<TopicEvent>(observer.Stream).SubscribeAsync(observer);
        var drop = fresh;
        lock (_lock)
        {
            if (observer.StreamHandle == old)
            {
                (observer.StreamHandle, drop) = (fresh, old);
            }
        }

        try
        {
            await drop.UnsubscribeAsync();
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            TopicsLog.TopicUnsubscribeFailed(_logger, ex, observer.Topic);
        }
    }

    private sealed partial class Observer
    {
        // The last stream delivery as of the check that last caught the subscription up: a second catch-up with no stream
        // delivery in between means the stream no longer delivers to it, and it subscribes anew.
        private long _stalledAt = -1;

        /// <summary>In place: its marker came, and it is neither fenced nor ended.</summary>
        public bool InPlace
        {
            get
            {
                lock (_lock)
                {
                    return _ticket is not null && !_fenced && !Ended;
                }
            }
        }

        /// <summary>How far it has queued, as an acknowledgement (a repeat is harmless).</summary>
        public TopicAck Heartbeat()
        {
            lock (_lock)
            {
                return new TopicAck(Id, Stream, _queued, _ticket?.Incarnation ?? Guid.Empty);
            }
        }

        /// <summary>Compares what it was delivered with where its topic stands (<paramref name="tail"/>).</summary>
        public async Task Check(TopicPosition tail)
        {
            long last;
            lock (_lock)
            {
                if (_fenced || Ended)
                {
                    return;
                }

                last = _last;
            }

            // Behind and idle for a whole period: what was in flight has had its chance. Caught up at once (the causal
            // barrier is waiting for it); subscribed anew only when it is found so again with no stream delivery in
            // between, so that a publish that had just not arrived yet costs a history read, not a new subscription.
            var delivered = Volatile.Read(ref _lastDelivery);
            if (tail.Value <= last || Stopwatch.GetElapsedTime(delivered) < WatchPeriod)
            {
                return;
            }

            var renew = _stalledAt == delivered;
            _stalledAt = delivered;
            await _gate.WaitAsync();
            try
            {
                long chain;
                lock (_lock)
                {
                    (last, chain) = (_last, _chain);
                }

                if (tail.Value > last)
                {
                    TopicsLog.TopicStalled(bus._logger, Topic, last, tail.Value);
                    // Read from the last publish it knows (what lies between that and _last is delivered already, and
                    // skipped as a repeat): the history's first entry then follows it, unless some are gone.
                    if (!await CatchUpTo(chain, tail.Value + 1, tail.Value))
                    {
                        return;
                    }
                }
            }
            finally
            {
                _gate.Release();
            }

            if (!renew)
            {
                return;
            }

            try
            {
                TopicsLog.TopicRenewed(bus._logger, Topic);
                await bus.Renew(this);
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException)
            {
                // Caught up by the next checks meanwhile.
                TopicsLog.TopicSubscribeFailed(bus._logger, ex, Topic);
            }
        }
    }
}
