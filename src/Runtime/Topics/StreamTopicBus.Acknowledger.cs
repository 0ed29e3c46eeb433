using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansWs.Internal;

// How a gateway's bus tells the topics' queue grains what it queued.
internal sealed partial class StreamTopicBus
{
    // One queue grain's acknowledgements: one call in flight at a time, and what is queued meanwhile goes
    // in the next (the highest position per stream), so a busy gateway sends fewer, larger ones.
    private sealed class Acknowledger(StreamTopicBus bus, ITopicQueueGrain queue)
    {
        private readonly Dictionary<Guid, TopicAck> _pending = [];
        private bool _sending;

        public void Add(TopicAck ack)
        {
            lock (_pending)
            {
                _pending[ack.Subscriber] = _pending.TryGetValue(ack.Subscriber, out var earlier) && earlier.Position > ack.Position ? earlier : ack;
                if (_sending)
                {
                    return;
                }

                _sending = true;
            }

            _ = Send();
        }

        private async Task Send()
        {
            while (true)
            {
                TopicAck[] acks;
                lock (_pending)
                {
                    if (_pending.Count == 0)
                    {
                        _sending = false;
                        return;
                    }

                    acks = [.. _pending.Values];
                    _pending.Clear();
                }

                try
                {
                    await queue.Queued(acks, bus.Self());
                }
                catch (Exception ex)
                {
                    // A publisher waiting for these fences this gateway at its bound; nothing else is lost.
                    TopicsLog.TopicAckFailed(bus._logger, ex, acks.Length);
                }
            }
        }
    }
}
