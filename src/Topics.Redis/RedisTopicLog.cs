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
/// to both, atomically, and takes the position from the entry id Redis gives, which Redis keeps rising per stream
/// whatever its clock does.
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
    // KEYS: partition stream, topic stream, append-id key. ARGV: payload, partition length, history count,
    // history age (ms), append id ('' for none), topic, append-id lifetime (s), notification channel.
    private const string AppendScript = """
        if ARGV[5] ~= '' then
          local last = redis.call('GET', KEYS[3])
          if last then
            local w, i = string.match(last, '^(.*):(%d+)$')
            local nw, ni = string.match(ARGV[5], '^(.*):(%d+)$')
            if w == nw and tonumber(i) >= tonumber(ni) then return false end
          end
        end
        local prev = ''
        local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
        if #newest > 0 then prev = newest[1][1] end
        local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 't', ARGV[6], 'p', prev, 'd', ARGV[1])
        local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', ARGV[3], id, 'p', prev, 'd', ARGV[1])
        if type(added) == 'table' and added.err then
          -- The topic's history holds a later id (it lived in another partition under another count): it starts over.
          redis.call('DEL', KEYS[2])
          redis.call('XADD', KEYS[2], id, 'p', '', 'd', ARGV[1])
        end
        local ms = tonumber(string.match(id, '^(%d+)'))
        redis.call('XTRIM', KEYS[2], 'MINID', string.format('%.0f', ms - tonumber(ARGV[4])))
        redis.call('PEXPIRE', KEYS[2], ARGV[4])
        if ARGV[5] ~= '' then redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[7]) end
        redis.call('PUBLISH', ARGV[8], id)
        return {id, prev}
        """;

    private readonly ConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly TopicLogLimits _limits;
    private readonly Serializer _serializer;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Signal> _signals = [];

    /// <summary>Connects to <paramref name="redis"/>; keys start with <paramref name="prefix"/>.</summary>
    public RedisTopicLog(ConfigurationOptions redis, string prefix, TopicLogLimits limits, Serializer serializer, ILogger<RedisTopicLog> logger)
    {
        _prefix = prefix;
        _limits = limits;
        _serializer = serializer;
        _logger = logger;
        var options = redis.Clone();
        options.AbortOnConnectFail = false;
        _redis = ConnectionMultiplexer.Connect(options);
        _redis.ConnectionFailed += (_, e) => Log.Unreachable(_logger, e.Exception, e.EndPoint?.ToString() ?? "redis");
        _redis.ConnectionRestored += (_, e) => Log.Reachable(_logger, e.EndPoint?.ToString() ?? "redis");
    }

    private IDatabase Db => _redis.GetDatabase();

    /// <inheritdoc />
    public bool Writable => _redis.IsConnected;

    /// <inheritdoc />
    public async Task<TopicBatch?> Append(uint partition, string topic, TopicEvent[] events, TopicAppendId? id = null)
    {
        if (events.Length == 0)
        {
            throw new ArgumentException("A publish has at least one message.", nameof(events));
        }

        var payload = _serializer.SerializeToArray(events);
        var appendId = id is { } named ? $"{named.Write:N}:{named.Index}" : "";
        var result = await Db.ScriptEvaluateAsync(
            AppendScript,
            [PartitionKey(partition), TopicKey(topic), id is { } publisher ? (RedisKey)(_prefix + "a:" + publisher.Publisher) : TopicKey(topic)],
            [payload, _limits.PartitionLength, _limits.HistoryCount, (long)_limits.HistoryAge.TotalMilliseconds, appendId, topic,
                (long)TopicLogLimits.AppendIdWindow.TotalSeconds, Channel(partition)]);
        if (result.IsNull)
        {
            return null;
        }

        var parts = (RedisResult[])result!;
        return Batch(topic, (string)parts[0]!, (string)parts[1]!, events);
    }

    /// <inheritdoc />
    public async Task<TopicBatch[]> Read(uint partition, TopicPosition after, int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        var signal = await SignalOf(partition);
        var arrived = signal.Next;
        var found = await Range(PartitionKey(partition), after, max);
        if (found.Length > 0 || wait <= TimeSpan.Zero)
        {
            return found;
        }

        try
        {
            await arrived.WaitAsync(wait, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            return [];
        }

        return await Range(PartitionKey(partition), after, max);
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
        var found = await Range(TopicKey(topic), after, max, topic);
        return new TopicHistoryRead(found, TopicHistoryRead.Lost(after, found.Length > 0 ? found[0] : null));
    }

    /// <inheritdoc />
    public async Task<TopicPosition?> Checkpoint(uint partition)
    {
        var saved = await Db.HashGetAsync(_prefix + "cp", partition);
        return saved.IsNull ? null : new TopicPosition((long)saved);
    }

    /// <inheritdoc />
    public Task SaveCheckpoint(uint partition, TopicPosition position) => Db.HashSetAsync(_prefix + "cp", partition, position.Value);

    /// <inheritdoc />
    public void Dispose() => _redis.Dispose();

    // A partition's entries name their topic; a topic's history does not need to.
    private async Task<TopicBatch[]> Range(RedisKey key, TopicPosition after, int max, string? topic = null)
    {
        var entries = await Db.StreamRangeAsync(key, Exclusive(after), "+", max);
        var found = new TopicBatch[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            var events = _serializer.Deserialize<TopicEvent[]>((byte[])entry["d"]!)
                ?? throw new InvalidDataException($"Topic log entry {entry.Id} of {key} holds no events.");
            found[i] = Batch(topic ?? (string)entry["t"]!, entry.Id!, (string?)entry["p"] ?? "", events);
        }

        return found;
    }

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
    public static string Exclusive(TopicPosition after) =>
        after.Value <= 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"({after.Value >> 20}-{after.Value & 0xFFFFF}");

    private RedisKey PartitionKey(uint partition) => _prefix + "p:" + partition.ToString(CultureInfo.InvariantCulture);

    private RedisKey TopicKey(string topic) => _prefix + "t:" + topic;

    private string Channel(uint partition) => _prefix + "n:" + partition.ToString(CultureInfo.InvariantCulture);

    // A read that found nothing waits for the partition's next append, which the script announces on the
    // partition's channel (a read asks the stream again after each, and after its wait in any case).
    private async Task<Signal> SignalOf(uint partition)
    {
        Signal? signal;
        lock (_lock)
        {
            if (_signals.TryGetValue(partition, out signal))
            {
                return signal;
            }

            _signals.Add(partition, signal = new Signal());
        }

        await _redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(Channel(partition)), (_, _) => signal.Set());
        return signal;
    }

    private sealed class Signal
    {
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Next => Volatile.Read(ref _next).Task;

        public void Set() => Interlocked.Exchange(ref _next, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    private static partial class Log
    {
        [LoggerMessage(130, LogLevel.Warning, "The topic log at {EndPoint} is unreachable: publishes fail until it is back.", EventName = "TopicLogUnreachable")]
        public static partial void Unreachable(ILogger logger, Exception? exception, string endPoint);

        [LoggerMessage(131, LogLevel.Information, "The topic log at {EndPoint} is reachable again.", EventName = "TopicLogReachable")]
        public static partial void Reachable(ILogger logger, string endPoint);
    }
}
