using System.Text.Json;
using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// One connected client, as its handler's hooks see it: crossws' <c>peer</c>. Sends, closes and publishes
/// made through it take effect when the hook call returns, after the peer's state has been written, in the
/// order they were made; a subscribe or unsubscribe is in place when its task completes.
/// </summary>
public sealed class Peer
{
    private readonly PeerEffects _effects;
    private readonly IPeerFacts _facts;
    private readonly IWebSocketPeers _peers;
    private readonly IPeerSocket _socket;

    internal Peer(string id, IPeerFacts facts, long bufferedAmount, PeerEffects effects, IWebSocketPeers peers, IPeerSocket socket)
    {
        Id = id;
        _facts = facts;
        BufferedAmount = bufferedAmount;
        _effects = effects;
        _peers = peers;
        _socket = socket;
    }

    /// <summary>
    /// The peer's id, unique across every gateway and time-ordered: <c>{handler grain type}/{32 hex digits}</c>,
    /// e.g. <c>chathandler/0193f0c2a9e47c3d8e1f5a6b7c8d9e0f</c> (the digits are a UUID v7 without hyphens).
    /// Rely on it being unique, stable for the life of the connection and reaching the peer through
    /// <see cref="IWebSocketPeers"/> from anywhere; treat it as opaque otherwise.
    /// </summary>
    public string Id { get; }

    /// <summary>The URL the client connected to, with the ws or wss scheme (crossws' <c>websocket.url</c>).</summary>
    public string Url => Request.WebSocketUrl;

    /// <summary>The upgrade request (http-scheme URL, lower-cased headers, the raw target).</summary>
    public UpgradeRequest Request => _facts.Request;

    /// <summary>The query string of <see cref="Url"/>.</summary>
    public ValueMap Query => Request.Query;

    /// <summary>The upgrade request's headers, names lower-cased.</summary>
    public ValueMap Headers => Request.Headers;

    /// <summary>The client's address as the gateway saw it.</summary>
    public string? RemoteAddress => Request.RemoteAddress;

    /// <summary>The authenticated user, or <see langword="null"/>.</summary>
    public PeerUser? User => Request.User;

    /// <summary>
    /// The peer's namespace (crossws' <c>peer.namespace</c>): its upgrade path unless the <c>upgrade</c> hook chose
    /// one. <see cref="GetPeers"/> lists it and <see cref="Publish(string, Message)"/> reaches the topic's
    /// subscribers in it.
    /// </summary>
    public string Namespace => _facts.Namespace;

    /// <summary>The negotiated sub-protocol (crossws' <c>websocket.protocol</c>), or <see langword="null"/>.</summary>
    public string? Protocol => _facts.Protocol;

    /// <summary>
    /// The negotiated extensions (crossws' <c>websocket.extensions</c>): <c>permessage-deflate</c> when the gateway
    /// has compression on and the client offered it, else none.
    /// </summary>
    public IReadOnlyList<string> Extensions => _facts.Extensions;

    /// <summary>
    /// Where the socket stands as this hook runs (crossws' <c>websocket.readyState</c>): <c>Closing</c> once this hook
    /// asked to close, or for a message whose batch left the gateway after the client's close frame came (or the
    /// socket ended); <c>Closed</c> in <c>OnClose</c>.
    /// </summary>
    public PeerReadyState ReadyState => _effects.SocketClosed ? PeerReadyState.Closed
        : _effects.Closing || _effects.SocketClosing ? PeerReadyState.Closing
        : PeerReadyState.Open;

    /// <summary>
    /// The peer's context (crossws' <c>peer.context</c>): what the <c>upgrade</c> hook gave, any value Orleans can
    /// serialize. A hook may replace it, or change the object it holds; either is stored with the peer's state
    /// when the hook returns. Setting a value Orleans cannot serialize throws <see cref="InvalidOperationException"/>
    /// (a hook error: <c>OnError</c>, then 1011).
    /// </summary>
    public object? Context
    {
        get => _facts.Context;
        set => _facts.Context = value;
    }

    /// <summary>The context as <typeparamref name="T"/>, or <see langword="default"/> when it holds none of that type.</summary>
    public T? ContextAs<T>() => _facts.Context is T value ? value : default;

    /// <summary>The topics this peer is subscribed to, in subscription order.</summary>
    public IReadOnlyList<string> Topics => _facts.Topics;

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
    /// reply, and the wait returns <see langword="true"/> at once (publishes to topics it subscribed wait behind them).
    /// </remarks>
    public Task<bool> WaitForDrain(long threshold = 0, TimeSpan? timeout = null) =>
        _socket.WaitForDrain(_effects, threshold, timeout ?? RuntimeTimeouts.DrainDefault);

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

    /// <summary>
    /// Subscribes this peer to <paramref name="topic"/>. When the returned task completes, the subscription is in place
    /// on the peer's gateway: every publish to the topic made after that reaches this peer. So subscribe first, then read
    /// what the topic's publishes update (a room grain's value), and nothing published in between is missed.
    /// </summary>
    /// <remarks>
    /// One call to the gateway, bounded at 30 s: a gateway that cannot confirm the subscription closes the peer with
    /// 1013 (and this throws). The hook's frames still leave with its reply, after the state; in <c>OnOpen</c> they go
    /// out ahead of any publish. The topic list is stored with the state when the hook returns.
    /// </remarks>
    public async Task Subscribe(string topic)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        if (!_facts.Topics.Contains(topic))
        {
            _facts.Topics.Add(topic);
            await _socket.ChangeTopic(_effects, topic, subscribe: true);
        }
    }

    /// <summary>Unsubscribes this peer from <paramref name="topic"/>: when the returned task completes, no later publish to it reaches this peer.</summary>
    public async Task Unsubscribe(string topic)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        if (_facts.Topics.Remove(topic))
        {
            await _socket.ChangeTopic(_effects, topic, subscribe: false);
        }
    }

    /// <summary>
    /// Publishes to every subscriber of <paramref name="topic"/> in this peer's <see cref="Namespace"/>, on every
    /// gateway, except this peer (crossws' <c>peer.publish</c>). It reaches every subscriber's gateway before the
    /// hook's reply and anything the hook does after it. To reach every namespace, use the handler's
    /// <c>Peers.Publish</c>.
    /// </summary>
    public Task Publish(string topic, Message message)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(message);
        _effects.Publish(topic, message, new PublishOptions(ExcludePeerId: Id, Namespace));
        return Task.CompletedTask;
    }

    /// <summary>Publishes a text message to the other subscribers of <paramref name="topic"/>.</summary>
    public Task Publish(string topic, string text) => Publish(topic, Message.FromText(text));

    /// <summary>Publishes <paramref name="value"/> as JSON text to the other subscribers of <paramref name="topic"/>.</summary>
    public Task PublishJson<T>(string topic, T value, JsonSerializerOptions? options = null) => Publish(topic, Message.FromJson(value, options));

    /// <summary>
    /// The ids of the open peers of this peer's <see cref="Namespace"/> on every gateway, oldest first (this peer
    /// included once its handshake completed): crossws' <c>peer.peers</c>. One call per gateway.
    /// </summary>
    public async Task<PeerListing> GetPeers()
    {
        var peers = await _peers.GetPeers(Namespace);
        if (_effects.SocketClosed || peers.Contains(Id))
        {
            return peers;
        }

        // In OnOpen the gateway does not list this peer yet (its handshake completes when the hook returns);
        // crossws counts it from the open hook on.
        var withSelf = new List<string>(peers) { Id };
        withSelf.Sort(StringComparer.Ordinal);
        return new PeerListing(withSelf, peers.UnansweredGateways);
    }

    /// <inheritdoc />
    public override string ToString() => Id;
}
