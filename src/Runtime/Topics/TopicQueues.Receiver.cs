using System.Diagnostics;
using Orleans.Streams;

namespace OrleansWs.Internal;

// How a pulling agent reads its partition from the log.
internal sealed partial class TopicQueueAdapterFactory
{
    // One partition's reader. It starts where the last reader had delivered everything (so a partition whose silo
    // died is read again from there: what its gateways had already been handed they leave out by position), or, on a
    // partition nobody read before, at its end.
    private sealed class Receiver(ITopicLog log, uint partition) : IQueueAdapterReceiver
    {
        // Orleans' cache lets a publish go once it is handed to its subscribers, not once they have it (our cursors
        // cannot take part in its batch protection, an internal interface): the checkpoint stays this far behind, past
        // a delivery's retries and a gateway's catch-up, so that what was in flight when this reader died is read again
        // by the next one. The price: a partition taken over after a silo died is read again for up to this long.
        private static readonly TimeSpan CheckpointLag = TimeSpan.FromSeconds(30);

        private readonly Queue<(TopicPosition Position, long At)> _delivered = new();
        private TopicPosition _read;
        private TopicPosition _saved;

        public async Task Initialize(TimeSpan timeout)
        {
            if (await log.Checkpoint(partition) is { } checkpoint)
            {
                _read = _saved = checkpoint;
                return;
            }

            _read = _saved = await log.End(partition);
            await log.SaveCheckpoint(partition, _read);
        }

        public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

        public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
        {
            var batches = await log.Read(partition, _read, maxCount < 0 ? int.MaxValue : maxCount, LongPoll, cancellationToken);
            if (batches.Length > 0)
            {
                _read = new TopicPosition(batches[^1].Token.SequenceNumber);
            }

            return batches;
        }

        // Called with what the cache let go of: every subscription's cursor had passed it.
        public async Task MessagesDeliveredAsync(IList<IBatchContainer> messages)
        {
            var now = Stopwatch.GetTimestamp();
            var newest = messages.Count == 0 ? TopicPosition.Start : new TopicPosition(messages.Max(m => m.SequenceToken.SequenceNumber));
            if (newest > _saved)
            {
                _delivered.Enqueue((newest, now));
            }

            var due = _saved;
            while (_delivered.TryPeek(out var oldest) && Stopwatch.GetElapsedTime(oldest.At, now) >= CheckpointLag)
            {
                due = _delivered.Dequeue().Position;
            }

            if (due > _saved)
            {
                await log.SaveCheckpoint(partition, due);
                _saved = due;
            }
        }

        public Task Shutdown(TimeSpan timeout) => Task.CompletedTask;
    }
}
