using System.Globalization;
using Microsoft.Extensions.Logging;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Serialization;
using OrleansWs.Internal;
using StackExchange.Redis;

namespace OrleansWs.Topics;

/// <summary>
/// The topic log on Redis Streams. Each partition is one stream (<c>{prefix}p:{n}</c>) that its pulling agent reads;
/// each topic's history is a stream of its own (<c>{prefix}t:{topic}</c>, the topic's UTF-8 bytes as they are: Redis
/// keys are binary-safe and the topic is the key's last part, so no name can reach another key). One script appends
/// to both, atomically, under an entry id it makes from Redis' clock and the partition's last id, so that it rises
/// whatever the clock does; the topic's last position (its chain) is a key of its own, kept for a day. Each partition's reader blocks in XREAD on a connection of its own, so an append reaches
/// it in one round trip.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>What Redis has acknowledged survives every silo. It survives Redis itself as far as Redis' persistence does:
/// with <c>appendonly yes</c>, a killed Redis process loses nothing it acknowledged (the kernel holds the file), a lost
/// machine up to a second (<c>appendfsync everysec</c>).</item>
/// <item>A position is the entry id's milliseconds and sequence (<c>ms &lt;&lt; 20 | seq</c>).</item>
/// <item>A topic's history is trimmed to its count and age when the topic is published to, and expires whole an age
/// after its last publish.</item>
/// </list>
/// </remarks>
internal sealed partial class RedisTopicLog : ITopicLog, IDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly TopicLogLimits _limits;
    private readonly Serializer _serializer;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, ConnectionMultiplexer> _readers = [];
    private readonly ConfigurationOptions _options;

    /// <summary>Connects to <paramref name="redis"/>; keys start with <paramref name="prefix"/>.</summary>
    public RedisTopicLog(ConfigurationOptions redis, string prefix, TopicLogLimits limits, Serializer serializer, ILogger<RedisTopicLog> logger)
    {
        _prefix = prefix;
        _limits = limits;
        _serializer = serializer;
        _logger = logger;
        _options = redis.Clone();
        // Nothing waits for a connection that is gone: a publish fails at once, and never lands late.
        (_options.AbortOnConnectFail, _options.BacklogPolicy) = (false, BacklogPolicy.FailFast);
        _redis = ConnectionMultiplexer.Connect(_options);
        _redis.ConnectionFailed += (_, e) => Log.Unreachable(_logger, e.Exception, e.EndPoint?.ToString() ?? "redis");
        _redis.ConnectionRestored += (_, e) => Log.Reachable(_logger, e.EndPoint?.ToString() ?? "redis");
        _ = WatchRoom();
    }

    private IDatabase Db => _redis.GetDatabase();

    /// <inheritdoc />
    public bool Writable => _redis.IsConnected && !_full;

    /// <inheritdoc />
    public async Task<TopicAppended> Append(uint partition, string topic, TopicEvent[] events, EffectId? id = null)
    {
        if (events.Length == 0)
        {
            throw new ArgumentException("A publish has at least one message.", nameof(events));
        }

        var payload = _serializer.SerializeToArray(events);
        var appendId = id is { } named ? $"{named.Write:N}:{named.Index}" : "";
        var marker = events[0].Marker != Guid.Empty;
        RedisResult result;
        try
        {
            result = await Db.ScriptEvaluateAsync(
                AppendScript,
                [PartitionKey(partition), TopicKey(topic), id is { } publisher ? (RedisKey)(_prefix + "a:" + publisher.Publisher) : TopicKey(topic), _prefix + "l:" + topic],
                [payload, _limits.PartitionLength, _limits.HistoryCount, (long)_limits.HistoryAge.TotalMilliseconds, appendId, topic,
                    (long)TopicLogLimits.AppendIdWindow.TotalSeconds, marker ? "1" : "0"]);
        }
        catch (RedisServerException ex) when (IsOutOfMemory(ex))
        {
            // Full before the next check saw it: the publishes that follow fail before their state is written.
            await Refused();
            throw;
        }

        var parts = (RedisResult[])result!;
        if ((string?)parts[0] == "dup")
        {
            // Appended before: its position, when the log still knows it, so that a publisher can wait for it again.
            var earlier = (string?)parts[1];
            return new TopicAppended(null, string.IsNullOrEmpty(earlier) ? TopicPosition.Start : Position(earlier));
        }

        var batch = Batch(topic, (string)parts[0]!, (string)parts[1]!, events);
        return new TopicAppended(batch, new TopicPosition(batch.Token.SequenceNumber));
    }

    /// <inheritdoc />
    public async Task<TopicBatch[]> Read(uint partition, TopicPosition after, int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait <= TimeSpan.Zero)
        {
            return await Range(PartitionKey(partition), after, max);
        }

        // XREAD BLOCK: Redis answers the moment an append lands. A blocking command holds its connection, so each
        // partition's reader has one of its own; a read cancelled meanwhile leaves its answer to nobody.
        var read = ReaderOf(partition, wait).GetDatabase().ExecuteAsync(
            "XREAD", "COUNT", max, "BLOCK", (long)wait.TotalMilliseconds, "STREAMS", PartitionKey(partition), Id(after));
        RedisResult result;
        try
        {
            result = await read.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return [];
        }

        if (result.IsNull)
        {
            return [];
        }

        var entries = (RedisResult[])((RedisResult[])((RedisResult[])result!)[0]!)[1]!;
        var found = new TopicBatch[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = (RedisResult[])entries[i]!;
            var fields = (RedisResult[])entry[1]!;
            var (topic, previous, data) = ((string?)null, "", (byte[]?)null);
            for (var f = 0; f + 1 < fields.Length; f += 2)
            {
                switch ((string?)fields[f])
                {
                    case "t": topic = (string?)fields[f + 1]; break;
                    case "p": previous = (string?)fields[f + 1] ?? ""; break;
                    case "d": data = (byte[]?)fields[f + 1]; break;
                }
            }

            found[i] = Batch(topic!, (string)entry[0]!, previous, Events((string)entry[0]!, data));
        }

        return found;
    }

    /// <inheritdoc />
    public async Task<TopicPosition> End(uint partition)
    {
        var newest = await Db.StreamRangeAsync(PartitionKey(partition), "-", "+", 1, Order.Descending);
        return newest.Length == 0 ? TopicPosition.Start : Position(newest[0].Id!);
    }

    /// <inheritdoc />
    public async Task<TopicHistoryRead> History(string topic, TopicPosition after, int max)
    {
        // Trimmed by age when the topic is published to; what aged since is left out here.
        var oldest = new TopicPosition((DateTimeOffset.UtcNow - _limits.HistoryAge).ToUnixTimeMilliseconds() << 20);
        var found = await Range(TopicKey(topic), after > oldest ? after : oldest, max, topic);
        if (found.Length > 0)
        {
            return new TopicHistoryRead(found, TopicHistoryRead.Lost(after, found[0]));
        }

        // Nothing kept after it: lost only if the topic's chain went on past it.
        var last = await Db.StringGetAsync(_prefix + "l:" + topic);
        return new TopicHistoryRead([], !last.IsNull && Position(last!) > after);
    }

    /// <inheritdoc />
    public async Task<TopicPosition[]> Last(IReadOnlyList<string> topics)
    {
        var lasts = await Db.StringGetAsync([.. topics.Select(t => (RedisKey)(_prefix + "l:" + t))]);
        return [.. lasts.Select(l => l.IsNull ? TopicPosition.Start : Position(l!))];
    }

    /// <inheritdoc />
    public async Task<TopicPosition?> Checkpoint(uint partition)
    {
        var saved = await Db.HashGetAsync(_prefix + "cp", partition);
        return saved.IsNull ? null : Position(saved!);
    }

    /// <inheritdoc />
    public Task SaveCheckpoint(uint partition, TopicPosition position) =>
        Db.ScriptEvaluateAsync(CheckpointScript, [_prefix + "cp"], [partition, Id(position)]);

    /// <inheritdoc />
    public void Dispose()
    {
        _stopped.Cancel();
        _redis.Dispose();
        lock (_lock)
        {
            foreach (var reader in _readers.Values)
            {
                reader.Dispose();
            }
        }
    }

    // A partition's entries name their topic; a topic's history does not need to.
    private async Task<TopicBatch[]> Range(RedisKey key, TopicPosition after, int max, string? topic = null)
    {
        var entries = await Db.StreamRangeAsync(key, Exclusive(after), "+", max);
        var found = new TopicBatch[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            found[i] = Batch(topic ?? (string)entry["t"]!, entry.Id!, (string?)entry["p"] ?? "", Events(entry.Id!, (byte[]?)entry["d"]));
        }

        return found;
    }

    private TopicEvent[] Events(string id, byte[]? data) =>
        (data is null ? null : _serializer.Deserialize<TopicEvent[]>(data)) ?? throw new InvalidDataException($"Topic log entry {id} holds no events.");

    private static TopicBatch Batch(string topic, string id, string previous, TopicEvent[] events)
    {
        var copy = (TopicEvent[])events.Clone();
        copy[0] = copy[0] with { Previous = previous.Length == 0 ? TopicEvent.None : Position(previous).Value };
        return new TopicBatch(StreamId.Create(OrleansWsNames.TopicNamespace, topic), copy, new EventSequenceTokenV2(Position(id).Value));
    }

    /// <summary>An entry id as a position.</summary>
    public static TopicPosition Position(string id)
    {
        var dash = id.IndexOf('-');
        var ms = long.Parse(id.AsSpan(0, dash), CultureInfo.InvariantCulture);
        var seq = long.Parse(id.AsSpan(dash + 1), CultureInfo.InvariantCulture);
        if (seq >= 1 << 20)
        {
            throw new InvalidOperationException($"Entry id {id} has a sequence above 2^20 within one millisecond.");
        }

        return new TopicPosition((ms << 20) | seq);
    }

    /// <summary>The first entry id after a position, as XRANGE takes it.</summary>
    public static string Exclusive(TopicPosition after) => after.Value <= 0 ? "-" : "(" + Id(after);

    /// <summary>A position as an entry id (what XREAD reads after).</summary>
    public static string Id(TopicPosition position) =>
        position.Value <= 0 ? "0-0" : string.Create(CultureInfo.InvariantCulture, $"{position.Value >> 20}-{position.Value & 0xFFFFF}");

    private RedisKey PartitionKey(uint partition) => _prefix + "p:" + partition.ToString(CultureInfo.InvariantCulture);

    private RedisKey TopicKey(string topic) => _prefix + "t:" + topic;

    // One connection per partition read here: a blocking XREAD holds its connection until it answers.
    private ConnectionMultiplexer ReaderOf(uint partition, TimeSpan wait)
    {
        lock (_lock)
        {
            if (!_readers.TryGetValue(partition, out var reader))
            {
                var options = _options.Clone();
                options.AsyncTimeout = (int)(wait + TimeSpan.FromSeconds(2)).TotalMilliseconds;
                _readers.Add(partition, reader = ConnectionMultiplexer.Connect(options));
            }

            return reader;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(130, LogLevel.Warning, "The topic log at {EndPoint} is unreachable: publishes fail until it is back.", EventName = "TopicLogUnreachable")]
        public static partial void Unreachable(ILogger logger, Exception? exception, string endPoint);

        [LoggerMessage(131, LogLevel.Information, "The topic log at {EndPoint} is reachable again.", EventName = "TopicLogReachable")]
        public static partial void Reachable(ILogger logger, string endPoint);
    }
}
