using System.Text.Json;
using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// One connected client, as its handler's hooks see it: crossws' <c>peer</c>. Sends, closes, topic
/// changes and publishes made through it take effect when the hook call returns, after the peer's
/// state has been written, in the order they were made.
/// </summary>
public sealed class Peer
{
    private readonly PeerEffects _effects;
    private readonly List<string> _topics;
    private readonly IWebSocketPeers _peers;
    private readonly IPeerSocket _socket;

    internal Peer(
        string id,
        UpgradeRequest request,
        string? protocol,
        IReadOnlyDictionary<string, string> context,
        List<string> topics,
        long bufferedAmount,
        PeerEffects effects,
        IWebSocketPeers peers,
        IPeerSocket socket)
    {
        _socket = socket;
        Id = id;
        Request = request;
        Protocol = protocol;
        Context = context;
        _topics = topics;
        BufferedAmount = bufferedAmount;
        _effects = effects;
        _peers = peers;
    }

    /// <summary>The peer's id, unique across every gateway: <c>{handler type}/{uuid v7}</c>.</summary>
    public string Id { get; }

    /// <summary>The URL the client connected to, with the ws or wss scheme.</summary>
    public string Url => Request.WebSocketUrl;

    /// <summary>The upgrade request (http-scheme URL, lower-cased headers).</summary>
    public UpgradeRequest Request { get; }

    /// <summary>The query string of <see cref="Url"/>.</summary>
    public ValueMap Query => Request.Query;

    /// <summary>The upgrade request's headers, names lower-cased.</summary>
    public ValueMap Headers => Request.Headers;

    /// <summary>The client's address as the gateway saw it.</summary>
    public string? RemoteAddress => Request.RemoteAddress;

    /// <summary>The authenticated user, or <see langword="null"/>.</summary>
    public PeerUser? User => Request.User;

    /// <summary>The negotiated sub-protocol, or <see langword="null"/>.</summary>
    public string? Protocol { get; }

    /// <summary>The negotiated extensions. OrleansWs negotiates none (no per-message compression).</summary>
    public IReadOnlyList<string> Extensions => [];

    /// <summary>The context the <c>upgrade</c> hook gave this peer.</summary>
    public IReadOnlyDictionary<string, string> Context { get; }

    /// <summary>The topics this peer is subscribed to, in subscription order.</summary>
    public IReadOnlyList<string> Topics => _topics;

    /// <summary>
    /// Bytes waiting in this peer's send queue on its gateway when the current event left the gateway
    /// (crossws' <c>bufferedAmount</c>).
    /// </summary>
    public long BufferedAmount { get; }

    /// <summary>
    /// Asks the gateway how many bytes wait in this peer's send queue now. Frames sent by the running
    /// hook are not counted yet: they leave when it returns.
    /// </summary>
    public Task<long> GetBufferedAmount() => _socket.GetBufferedAmount();

    /// <summary>
    /// crossws' <c>waitForDrain</c>: waits until at most <paramref name="threshold"/> bytes wait in this peer's
    /// send queue, or <paramref name="timeout"/> (default 5 s) passes. Returns whether it drained. Use it to pace
    /// a large transfer instead of letting a slow reader hit the queue cap.
    /// </summary>
    /// <remarks>
    /// A commit point: the peer's state is written and the hook's effects so far leave first (its publishes
    /// queued by the subscribed gateways, its sends, and its frames on this peer's socket), so the wait covers
    /// the frames sent before it. In <c>OnOpen</c> the socket is not open yet: frames stay for the handshake's
    /// reply and the queue is empty.
    /// </remarks>
    public Task<bool> WaitForDrain(long threshold = 0, TimeSpan? timeout = null) =>
        _socket.WaitForDrain(_effects, threshold, timeout ?? TimeSpan.FromSeconds(5));

    /// <summary>Sends a message to this peer.</summary>
    public Task Send(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        _effects.Send(message);
        return Task.CompletedTask;
    }

    /// <summary>Sends a text message to this peer.</summary>
    public Task Send(string text) => Send(Message.FromText(text));

    /// <summary>Sends a binary message to this peer.</summary>
    public Task Send(byte[] data) => Send(Message.FromBytes(data));

    /// <summary>Sends <paramref name="value"/> serialized as JSON text.</summary>
    public Task SendJson<T>(T value, JsonSerializerOptions? options = null) => Send(Message.FromJson(value, options));

    /// <summary>Closes the connection with a close frame once the hook returns.</summary>
    /// <param name="code">1000, 1001–1003, 1007–1014 or 3000–4999.</param>
    /// <param name="reason">At most 123 bytes of UTF-8.</param>
    public Task Close(int code = CloseCodes.Normal, string reason = "")
    {
        CloseCodes.Validate(code, reason);

        _effects.RequestClose(code, reason, terminate: false);
        return Task.CompletedTask;
    }

    /// <summary>Drops the connection without a close frame once the hook returns.</summary>
    public Task Terminate()
    {
        _effects.RequestClose(CloseCodes.Abnormal, "terminated", terminate: true);
        return Task.CompletedTask;
    }

    /// <summary>Subscribes this peer to <paramref name="topic"/>; in place when the hook returns.</summary>
    public Task Subscribe(string topic)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        if (!_topics.Contains(topic))
        {
            _topics.Add(topic);
            _effects.ChangeTopic(topic, subscribe: true);
        }

        return Task.CompletedTask;
    }

    /// <summary>Unsubscribes this peer from <paramref name="topic"/>.</summary>
    public Task Unsubscribe(string topic)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        if (_topics.Remove(topic))
        {
            _effects.ChangeTopic(topic, subscribe: false);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Publishes to every subscriber of <paramref name="topic"/> on every gateway except this peer. It reaches
    /// every subscriber's gateway before the hook's reply and anything the hook does after it.
    /// </summary>
    public Task Publish(string topic, Message message)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(message);
        _effects.Publish(topic, message, excludePeerId: Id);
        return Task.CompletedTask;
    }

    /// <summary>Publishes a text message to the other subscribers of <paramref name="topic"/>.</summary>
    public Task Publish(string topic, string text) => Publish(topic, Message.FromText(text));

    /// <summary>Publishes <paramref name="value"/> as JSON text to the other subscribers of <paramref name="topic"/>.</summary>
    public Task PublishJson<T>(string topic, T value, JsonSerializerOptions? options = null) => Publish(topic, Message.FromJson(value, options));

    /// <summary>The ids of the open peers of this peer's endpoint on every gateway, oldest first (this peer included).</summary>
    public Task<IReadOnlyList<string>> GetPeers() => _peers.GetPeers(PeerIds.HandlerType(Id));

    /// <inheritdoc />
    public override string ToString() => Id;
}
