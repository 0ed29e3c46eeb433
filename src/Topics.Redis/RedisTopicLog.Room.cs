using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace OrleansWs.Topics;

// Whether Redis has room for a publish. At maxmemory, Redis with the policy noeviction refuses every write (OOM);
// with any other policy it deletes keys instead, and with them topic history, checkpoints and, where Redis is also
// the store, peers' records. The log asks Redis every second, and takes a refused append as full at once, so that a
// hook that publishes while Redis is full fails before its state is written (the pipeline reads Writable first).
internal sealed partial class RedisTopicLog
{
    private static readonly TimeSpan RoomCheckInterval = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stopped = new();
    private volatile bool _full;
    private volatile bool _refused;
    private string? _evictionReported;

    // A publish takes a few hundred bytes beyond its payload, and several may land between two checks: full a little
    // before Redis says so (a twentieth of maxmemory, at most 8 MiB).
    private static long Headroom(long maxMemory) => Math.Min(maxMemory / 20, 8L << 20);

    private async Task WatchRoom()
    {
        using var timer = new PeriodicTimer(RoomCheckInterval);
        try
        {
            do
            {
                try
                {
                    await CheckRoom();
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not ObjectDisposedException)
                {
                    // The check goes on: one that failed changes nothing.
                    Log.RoomCheckFailed(_logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(_stopped.Token));
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // Disposed.
        }
    }

    /// <summary>Reads Redis' memory figures and sets whether it has room; a Redis that does not answer changes nothing.</summary>
    internal async Task CheckRoom()
    {
        if (!_redis.IsConnected)
        {
            return;
        }

        string? info;
        try
        {
            info = (string?)await Db.ExecuteAsync("INFO", "memory");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return;
        }

        var (used, uncounted, max, policy) = (0L, 0L, 0L, "");
        foreach (var line in (info ?? "").Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon < 0)
            {
                continue;
            }

            var value = line[(colon + 1)..].Trim();
            switch (line[..colon])
            {
                case "used_memory": _ = long.TryParse(value, CultureInfo.InvariantCulture, out used); break;
                case "mem_not_counted_for_evict": _ = long.TryParse(value, CultureInfo.InvariantCulture, out uncounted); break;
                case "maxmemory": _ = long.TryParse(value, CultureInfo.InvariantCulture, out max); break;
                case "maxmemory_policy": policy = value; break;
            }
        }

        if (max > 0 && policy != "noeviction" && policy != _evictionReported)
        {
            _evictionReported = policy;
            Log.Evicts(_logger, policy, max);
        }

        // Redis leaves replication and append-only-file buffers out of the figure it compares with maxmemory. Under
        // noeviction it refuses writes there; under another policy it deletes (reported above) and refuses only when
        // nothing is left to delete, which a refused append tells. Full stays full until there is twice the headroom,
        // so a Redis at the mark does not flap.
        used -= uncounted;
        var mark = max - Headroom(max) * (_full ? 2 : 1);
        var full = max > 0 && used >= mark && (policy == "noeviction" || _refused);
        _refused &= full;
        SetFull(full, used, max);
    }

    // Redis refused an append for memory: full at once, whatever the policy, until a check finds room.
    private async Task Refused()
    {
        _refused = true;
        SetFull(true, -1, -1);
        await CheckRoom();
    }

    private void SetFull(bool full, long used, long max)
    {
        if (full == _full)
        {
            return;
        }

        _full = full;
        if (full && used < 0)
        {
            Log.Refused(_logger);
        }
        else if (full)
        {
            Log.Full(_logger, used, max);
        }
        else
        {
            Log.Room(_logger, used, max);
        }
    }

    // Redis refuses a write at maxmemory so, also inside a script (where older versions wrap the error).
    private static bool IsOutOfMemory(RedisServerException ex) => ex.Message.Contains("OOM command not allowed", StringComparison.Ordinal);

    private static partial class Log
    {
        [LoggerMessage(132, LogLevel.Warning, "The topic log's Redis is full ({Used} of {Max} bytes): publishes fail until it has room.", EventName = "TopicLogFull")]
        public static partial void Full(ILogger logger, long used, long max);

        [LoggerMessage(136, LogLevel.Warning, "The topic log's Redis refused a publish for memory: publishes fail until it has room.", EventName = "TopicLogRefused")]
        public static partial void Refused(ILogger logger);

        [LoggerMessage(133, LogLevel.Information, "The topic log's Redis has room again ({Used} of {Max} bytes).", EventName = "TopicLogRoom")]
        public static partial void Room(ILogger logger, long used, long max);

        [LoggerMessage(134, LogLevel.Error, "The topic log's Redis deletes keys at maxmemory ({Max} bytes, policy {Policy}): topic history, chains and publish ids (and, under an allkeys policy, checkpoints and peers' records stored there) can vanish, and with them the guarantees of topics. Set maxmemory-policy noeviction.", EventName = "TopicLogEvicts")]
        public static partial void Evicts(ILogger logger, string policy, long max);

        [LoggerMessage(135, LogLevel.Warning, "The topic log could not read Redis' memory figures; it checks again in a second.", EventName = "TopicLogRoomCheckFailed")]
        public static partial void RoomCheckFailed(ILogger logger, Exception exception);
    }
}
