using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streams;
using OrleansWs.Internal;

namespace OrleansWs.Tests.Topics;

/// <summary>
/// The pulling agent's cache of a topic queue, driven as the agent drives it: purge before each read, then
/// add the read. A quiet topic's idle cursor remembers a publish the cache has since purged; Orleans'
/// cache then throws on the topic's next publish, and the agent's read of the whole queue fails with it.
/// </summary>
public sealed class TopicQueueCacheTests
{
    private static readonly StreamId Quiet = StreamId.Create(OrleansWsNames.TopicNamespace, "quiet");
    private static readonly StreamId Busy = StreamId.Create(OrleansWsNames.TopicNamespace, "busy");

    [Fact]
    public void An_idle_cursor_whose_publish_was_purged_gets_the_next_publish_instead_of_failing_the_queue()
    {
        var simple = new SimpleQueueCache(100, NullLogger.Instance);
        Assert.Throws<QueueCacheMissException>(() => Drive(simple, remembered: 5, next: 41));

        var delivered = Drive(new TopicQueueCache(new SimpleQueueCache(100, NullLogger.Instance)), remembered: 5, next: 41);
        Assert.Equal(41, delivered);
    }

    [Fact]
    public void A_cursor_refreshed_to_a_publish_older_than_the_cache_starts_at_the_earliest_kept()
    {
        // A queue re-created on another silo numbers from that silo's clock, which may be behind.
        var cache = new TopicQueueCache(new SimpleQueueCache(100, NullLogger.Instance));
        var cursor = Cursor(cache, Quiet, 5);
        Read(cache, Batch(Busy, 2002));
        Read(cache, Batch(Busy, 2003), Batch(Quiet, 50));
        cursor.Refresh(new EventSequenceTokenV2(50));
        Assert.Equal(QueueCacheCursorMoveResultKind.Success, cursor.MoveNextWithResult().Kind);
        Assert.Equal(50, cursor.GetCurrent(out _)!.SequenceToken.SequenceNumber);
    }

    // A cursor remembers position `remembered` on an empty cache; the busy topic's publishes pass through
    // and are purged; then the quiet topic publishes at `next` and the agent refreshes the idle cursor to it.
    private static long Drive(IQueueCache cache, long remembered, long next)
    {
        var cursor = Cursor(cache, Quiet, remembered);
        for (var round = 0; round < 3; round++)
        {
            Read(cache, Enumerable.Range(11 + (round * 10), 10).Select(p => Batch(Busy, p)).ToArray());
        }

        Read(cache, Batch(Quiet, next));
        cursor.Refresh(new EventSequenceTokenV2(next));
        Assert.Equal(QueueCacheCursorMoveResultKind.Success, cursor.MoveNextWithResult().Kind);
        return cursor.GetCurrent(out _)!.SequenceToken.SequenceNumber;
    }

    private static IQueueCacheCursor Cursor(IQueueCache cache, StreamId stream, long position)
    {
        cache.TryPurgeFromCache(out _);
        return cache.TryGetCacheCursor(stream, new EventSequenceTokenV2(position)).Cursor!;
    }

    private static void Read(IQueueCache cache, params IBatchContainer[] batches)
    {
        cache.TryPurgeFromCache(out _);
        cache.AddToCache(batches);
    }

    private static TopicBatch Batch(StreamId stream, long position) =>
        new(stream, [new TopicEvent(Message.FromText(position.ToString(System.Globalization.CultureInfo.InvariantCulture)), null)], new EventSequenceTokenV2(position));
}
