using System.Buffers;
using Orleans.Runtime;
using Orleans.Streams;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>
/// Topic fan-out on one gateway. Each topic with local subscribers has exactly one stream
/// subscription here; a published message arrives once per gateway and is queued on every local
/// subscriber's socket except the sender's. A publish therefore costs O(gateways) in the cluster.
/// A subscriber gets what was published after it joined, nothing queued before, even when that
/// reaches the gateway after the join (a backlog in flight, or the cached message Orleans hands a
/// new stream subscription).
/// </summary>
internal sealed class TopicFanout(IClusterClient client, ILogger<TopicFanout> logger)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Topic> _topics = new(StringComparer.Ordinal);
    // The topics each local connection is in, so that its end takes it out of all of them.
    private readonly Dictionary<WebSocketConnection, HashSet<string>> _joined = [];
    private IStreamProvider? _streams;

    /// <summary>Subscribes <paramref name="connection"/>; returns once the topic's stream subscription is in place.</summary>
    public async Task Subscribe(string topic, WebSocketConnection connection)
    {
        // Where the topic's queue stands before the join: publishes queued earlier stay out.
        var joinedAt = await ClusterRetry.WhenRejected(() => TopicQueueAdapterFactory.Position(client, topic));
        Topic entry;
        lock (_lock)
        {
            // A connection that ends is closing before it is released: a subscribe still on its way then must not bring it back.
            if (connection.Closing)
            {
                return;
            }

            if (!_topics.TryGetValue(topic, out entry!))
            {
                entry = new Topic(topic, _lock, logger);
                _topics.Add(topic, entry);
                entry.Subscription = SubscribeStream(entry);
            }

            entry.Subscribers.TryAdd(connection, joinedAt); // joined already: keeps what it has been promised
            if (!_joined.TryGetValue(connection, out var joined))
            {
                _joined.Add(connection, joined = new(StringComparer.Ordinal));
            }

            joined.Add(topic);
        }

        await entry.Subscription!;
    }

    /// <summary>Unsubscribes <paramref name="connection"/>; the last local subscriber drops the stream subscription.</summary>
    public void Unsubscribe(string topic, WebSocketConnection connection)
    {
        Topic? emptied = null;
        lock (_lock)
        {
            if (_topics.TryGetValue(topic, out var entry) && entry.Subscribers.Remove(connection))
            {
                if (_joined.TryGetValue(connection, out var joined) && joined.Remove(topic) && joined.Count == 0)
                {
                    _joined.Remove(connection);
                }

                if (entry.Subscribers.Count == 0)
                {
                    _topics.Remove(topic);
                    emptied = entry;
                }
            }
        }

        if (emptied is not null)
        {
            _ = Drop(emptied);
        }
    }

    /// <summary>Removes a closing connection from all its topics; later subscribes for it are ignored.</summary>
    public void Release(WebSocketConnection connection)
    {
        string[] topics;
        lock (_lock)
        {
            topics = _joined.TryGetValue(connection, out var joined) ? [.. joined] : [];
        }

        foreach (var topic in topics)
        {
            Unsubscribe(topic, connection);
        }
    }

    /// <summary>The local subscribers of <paramref name="topic"/>; 0 when this gateway holds no stream subscription for it.</summary>
    public int LocalSubscribers(string topic)
    {
        lock (_lock)
        {
            return _topics.TryGetValue(topic, out var entry) ? entry.Subscribers.Count : 0;
        }
    }

    /// <summary>Whether this gateway holds a stream subscription for <paramref name="topic"/>.</summary>
    public bool IsSubscribed(string topic)
    {
        lock (_lock)
        {
            return _topics.ContainsKey(topic);
        }
    }

    private async Task SubscribeStream(Topic entry)
    {
        try
        {
            _streams ??= client.GetStreamProvider(OrleansWsNames.StreamProvider);
            var stream = _streams.GetStream<TopicEvent>(StreamId.Create(OrleansWsNames.TopicNamespace, entry.Name));
            entry.Handle = await stream.SubscribeAsync(entry);
        }
        catch (Exception ex)
        {
            Log.TopicSubscribeFailed(logger, ex, entry.Name);
            lock (_lock)
            {
                if (_topics.TryGetValue(entry.Name, out var current) && current == entry)
                {
                    _topics.Remove(entry.Name);
                }
            }

            throw;
        }
    }

    private async Task Drop(Topic entry)
    {
        try
        {
            await entry.Subscription!;
            await entry.Handle!.UnsubscribeAsync();
        }
        catch (Exception ex)
        {
            Log.TopicUnsubscribeFailed(logger, ex, entry.Name);
        }
    }

    // One stream subscription. Deliveries to an entry that has been dropped reach no one, so a
    // topic re-subscribed while its old subscription is being torn down never duplicates a message.
    private sealed class Topic(string name, Lock fanoutLock, ILogger logger) : IAsyncObserver<TopicEvent>
    {
        public string Name { get; } = name;

        /// <summary>Each local subscriber, with the queue position it joined at.</summary>
        public Dictionary<WebSocketConnection, long> Subscribers { get; } = [];

        public Task? Subscription { get; set; }

        public StreamSubscriptionHandle<TopicEvent>? Handle { get; set; }

        public Task OnNextAsync(TopicEvent item, StreamSequenceToken? token = null)
        {
            // Sending may write to the socket on this thread, so it happens outside the lock that
            // subscribes and every other topic's fan-out need; the copy is of references and positions only.
            KeyValuePair<WebSocketConnection, long>[] subscribers;
            int count;
            lock (fanoutLock)
            {
                count = Subscribers.Count;
                subscribers = ArrayPool<KeyValuePair<WebSocketConnection, long>>.Shared.Rent(count);
                ((ICollection<KeyValuePair<WebSocketConnection, long>>)Subscribers).CopyTo(subscribers, 0);
            }

            try
            {
                var queuedAt = token?.SequenceNumber ?? long.MaxValue;
                foreach (var (connection, joinedAt) in subscribers.AsSpan(0, count))
                {
                    if (queuedAt >= joinedAt && !string.Equals(connection.PeerId, item.ExcludePeerId, StringComparison.Ordinal))
                    {
                        connection.Enqueue(item.Message);
                    }
                }
            }
            finally
            {
                ArrayPool<KeyValuePair<WebSocketConnection, long>>.Shared.Return(subscribers, clearArray: true);
            }

            return Task.CompletedTask;
        }

        public Task OnCompletedAsync() => Task.CompletedTask;

        public Task OnErrorAsync(Exception ex)
        {
            Log.TopicStreamError(logger, ex, Name);
            return Task.CompletedTask;
        }
    }
}
