using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansWs.Internal;

/// <summary>
/// The pulling agent's cache of one topic queue: Orleans' <see cref="SimpleQueueCache"/>, with cursors that
/// survive the one case it does not handle.
/// </summary>
/// <remarks>
/// A subscription made while the cache holds publishes of its topic gets an idle cursor that remembers
/// the newest of them, and idle cursors do not keep what they remember from being purged. When the next
/// publish of the topic arrives, the agent refreshes the cursor to it; the cache then looks for the purged
/// publish, throws <see cref="QueueCacheMissException"/>, and the agent's read of the whole queue fails with
/// it: the batch it read is lost, and every later read fails the same way, for every topic of the queue,
/// as long as the subscription lives. Here a cursor whose refresh misses starts over at the publish it was
/// refreshed to, which is in the cache: the subscriber gets that publish and what follows, and nothing
/// it was never meant to get; one refreshed to a publish older than the cache (a re-created queue whose
/// positions went backwards), and a new cursor asked for a purged position, start at the earliest publish
/// kept, all of which come after it. (Starting new subscriptions at the queue's next position instead was tried
/// and did not help: a cursor that consumed a stream's cached publishes idles on the last of them too.)
/// The price: the wrapped cursors hide Orleans' internal batch protection, which keeps a batch cached
/// while it is being delivered so that a failed delivery can be repeated from the cache; a repeat after
/// a purge skips what was purged, which the gateway then reads from the topic's history (it sees the gap),
/// and the partition's checkpoint stays behind for it (<see cref="TopicQueueAdapterFactory"/>).
/// </remarks>
internal sealed class TopicQueueCache(SimpleQueueCache simple) : IQueueCache
{
    private readonly IQueueCache _cache = simple;

    public int GetMaxAddCount() => _cache.GetMaxAddCount();

    public void AddToCache(IList<IBatchContainer> messages) => _cache.AddToCache(messages);

    public bool TryPurgeFromCache(out IList<IBatchContainer> purgedItems)
    {
        var purged = _cache.TryPurgeFromCache(out var items);
        purgedItems = items!; // the cache sets it whenever it returns true, as the agent expects
        return purged;
    }

    public bool IsUnderPressure() => _cache.IsUnderPressure();

    public void UpdateDeliveryProgress(StreamSequenceToken? earliestSubscriptionToken, DateTime utcNow) =>
        _cache.UpdateDeliveryProgress(earliestSubscriptionToken, utcNow);

    [Obsolete("Use TryGetCacheCursor.")]
    public IQueueCacheCursor GetCacheCursor(StreamId streamId, StreamSequenceToken? token) =>
        new Cursor(_cache, streamId, _cache.GetCacheCursor(streamId, token));

    public QueueCacheCursorResult<IQueueCacheCursor> TryGetCacheCursor(StreamId streamId, StreamSequenceToken? token)
    {
        var result = _cache.TryGetCacheCursor(streamId, token);
        if (result.Kind == QueueCacheCursorResultKind.CacheMiss)
        {
            // Older than anything kept, so everything kept comes after it: start at the earliest.
            result = _cache.TryGetCacheCursorAtPosition(streamId, StreamSubscriptionStartPosition.EarliestAvailable);
        }

        return Wrap(streamId, result);
    }

    public QueueCacheCursorResult<IQueueCacheCursor> TryGetCacheCursorAtPosition(StreamId streamId, StreamSubscriptionStartPosition startPosition) =>
        Wrap(streamId, _cache.TryGetCacheCursorAtPosition(streamId, startPosition));

    private QueueCacheCursorResult<IQueueCacheCursor> Wrap(StreamId streamId, QueueCacheCursorResult<IQueueCacheCursor> result) =>
        result.Cursor is { } cursor ? QueueCacheCursorResult<IQueueCacheCursor>.FromCursor(new Cursor(_cache, streamId, cursor)) : result;

    private sealed class Cursor(IQueueCache cache, StreamId streamId, IQueueCacheCursor inner) : IQueueCacheCursor
    {
        public IBatchContainer? GetCurrent(out Exception? exception) => inner.GetCurrent(out exception);

        [Obsolete("Use MoveNextWithResult.")]
        public bool MoveNext() => inner.MoveNext();

        public QueueCacheCursorMoveResult MoveNextWithResult() => inner.MoveNextWithResult();

        public void Refresh(StreamSequenceToken token)
        {
            try
            {
                inner.Refresh(token);
            }
            catch (QueueCacheMissException)
            {
                // The token refreshed to may itself be older than the cache (positions of a re-created
                // queue that went backwards): then from the earliest publish kept.
                var fresh = cache.TryGetCacheCursor(streamId, token).Cursor
                    ?? cache.TryGetCacheCursorAtPosition(streamId, StreamSubscriptionStartPosition.EarliestAvailable).Cursor!;
                inner.Dispose();
                inner = fresh;
            }
        }

        public void RecordDeliveryFailure() => inner.RecordDeliveryFailure();

        public void Dispose() => inner.Dispose();
    }
}
