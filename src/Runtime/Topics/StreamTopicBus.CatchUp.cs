using Orleans.Streams;

namespace OrleansWs.Internal;

// A subscription's catch-up from its topic's history: after a gap in what the stream handed it, or a stall.
internal sealed partial class StreamTopicBus
{
    private sealed partial class Observer
    {
        // The missed publishes come from the topic's history, in order, before the one that showed the gap. A history
        // that no longer holds them all fences the subscription: its members are closed and can resume from their own
        // positions.
        private async Task CatchUp(long after, TopicEvent item, StreamSequenceToken token)
        {
            if (await CatchUpTo(after, token.SequenceNumber, item.Previous))
            {
                TopicsLog.TopicCaughtUp(bus._logger, Topic, after, token.SequenceNumber);
                await Handle(item, token);
            }
        }

        // Delivers the history's publishes after `after` and below `until`, in order; whether the last of them was
        // `expected` (else some are gone, and the subscription is fenced).
        private async Task<bool> CatchUpTo(long after, long until, long expected)
        {
            const int Page = 256;
            var cursor = new TopicPosition(after);
            while (true)
            {
                if (await ReadHistory(cursor, Page) is not { } read)
                {
                    Fence(barrier: false);
                    return false;
                }

                if (read.Truncated)
                {
                    TopicsLog.TopicGap(bus._logger, Topic);
                    Fence(barrier: false);
                    return false;
                }

                foreach (var publish in read.Publishes)
                {
                    if (publish.Position.Value >= until)
                    {
                        break;
                    }

                    var publishToken = new Orleans.Providers.Streams.Common.EventSequenceTokenV2(publish.Position.Value);
                    for (var i = 0; i < publish.Events.Count; i++)
                    {
                        await Handle(publish.Events[i], publishToken.CreateSequenceTokenForEvent(i));
                    }

                    cursor = publish.Position;
                }

                if (read.Publishes.Count < Page || read.Publishes[^1].Position.Value >= until)
                {
                    break;
                }
            }

            if (cursor.Value != expected)
            {
                // The history no longer holds the publish that came right before: some are gone.
                TopicsLog.TopicGap(bus._logger, Topic);
                Fence(barrier: false);
                return false;
            }

            return true;
        }

        // Orleans delivers nothing more to this subscription until the catch-up returns, so each read is bounded: a read
        // sent to a partition whose silo just died is never answered (a gateway is an Orleans client), and one sent
        // again once the cluster knows finds the partition elsewhere.
        private async Task<TopicHistory?> ReadHistory(TopicPosition after, int max)
        {
            var deadline = DateTime.UtcNow + CatchUpLimit;
            while (true)
            {
                try
                {
                    return await bus.Read(Topic, after, max).WaitAsync(CatchUpAttempt);
                }
                catch (Exception ex) when (ex is OrleansException or TimeoutException)
                {
                    if (DateTime.UtcNow + CatchUpAttempt > deadline)
                    {
                        TopicsLog.TopicCatchUpFailed(bus._logger, ex, Topic);
                        return null;
                    }
                }
            }
        }
    }
}
