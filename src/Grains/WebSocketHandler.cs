using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using OrleansWs.Hosting;
using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// A WebSocket endpoint's handler: crossws' <c>{ upgrade, open, message, close, error }</c> as a grain
/// class. One activation runs the hooks of one connected peer, one hook at a time, in the order the
/// events happened; <see cref="State"/> is that peer's persisted state.
/// </summary>
/// <typeparam name="TState">
/// The per-peer state, a <c>[GenerateSerializer]</c> class. It is written to grain storage after any
/// hook that changed it and before that hook's effects leave the grain, and cleared after the close.
/// </typeparam>
/// <example>
/// <code>
/// public sealed class EchoHandler : WebSocketHandler&lt;EchoState&gt;
/// {
///     public override Task OnMessage(Peer peer, Message message) => peer.Send(message);
/// }
/// </code>
/// </example>
public abstract partial class WebSocketHandler<TState> : Grain, IPeerGrain, IPeerSocket, IPeerFacts where TState : class, new()
{
    private IPersistentState<PeerRecord<TState>> _record = null!;
    private HandlerHost _host = null!;
    private ILogger _logger = NullLogger.Instance;

    /// <summary>Creates the handler; the runtime supplies everything it needs.</summary>
    protected WebSocketHandler()
    {
        if (GrainContext is null)
        {
            // Constructed outside a silo: a test harness attaches the handler (see Detach).
            return;
        }

        var services = ServiceProvider;
        var storageName = GetType().GetCustomAttribute<PeerStorageAttribute>()?.StorageName ?? OrleansWsStorage.PeerState;
        _host = new GrainHost(
            this,
            services.GetRequiredService<IWebSocketPeers>(),
            services.GetRequiredService<ITopicBarrier>(),
            services.GetRequiredService<IOptions<OrleansWsSiloOptions>>().Value.PublishQueuedTimeout,
            services.GetRequiredService<Serializer>(),
            services.GetService<ITopicLog>(),
            services.GetService<ILoggerFactory>()?.CreateLogger(GetType()) ?? NullLogger.Instance);
        _logger = _host.Logger;
        _record = new PeerState<PeerRecord<TState>>(services.GetKeyedService<IGrainStorage>(storageName) ?? throw NoStorage(storageName), GrainContext.GrainId, _logger);
        // After the deactivation's own hooks: every call has finished, so the record's outbox has left (Commit.cs).
        GrainContext.ObservableLifecycle.Subscribe(nameof(WebSocketHandler<TState>), GrainLifecycleStage.SetupState, _ => Task.CompletedTask, ForgetReleasedOutbox);
    }

    private sealed class GrainHost(
        WebSocketHandler<TState> grain,
        IWebSocketPeers peers,
        ITopicBarrier barrier,
        TimeSpan queuedTimeout,
        Serializer serializer,
        ITopicLog? log,
        ILogger logger)
        : HandlerHost(grain.GetGrainId().ToString(), peers, serializer, logger)
    {
        public override bool TopicsWritable => log?.Writable ?? true;

        // A named send takes effect once, so it is asked again also when the target's silo died on the way.
        public override Task<bool> Send(string peerId, Message message, EffectId? id) => id is { } once
            ? ClusterRetry.WhenRejected(() => grain.GrainFactory.GetGrain<IPeerGrain>(PeerIds.ToGrainId(peerId)).SendOnce(message, once), idempotent: true)
            : Peers.Send(peerId, message);

        public override Task<TopicQueued> Publish(string topic, IReadOnlyList<Message> messages, PublishOptions options) =>
            barrier.PublishQueued(topic, messages, options, queuedTimeout);

        public override Task TrackPeer(Guid gatewayId, string peerId, bool open) => open
            ? GatewayPeerLists.For(grain.GrainFactory, gatewayId, peerId).Add(peerId)
            : GatewayPeerLists.For(grain.GrainFactory, gatewayId, peerId).Remove(peerId);

        public override Task<PeerPresence> Presence(string peerId) =>
            grain.GrainFactory.GetGrain<IPeerGrain>(PeerIds.ToGrainId(peerId)).GetPresence();

        public override Task ListDetached(string @namespace, DateTime? untilUtc)
        {
            var list = grain.GrainFactory.GetGrain<IDetachedPeersGrain>(@namespace);
            return untilUtc is { } until ? list.Add(PeerId, until) : list.Remove(PeerId);
        }

        public override void Deactivate() => grain.DeactivateOnIdle();
    }

    // Whether this handler type overrides OnClose: only then is a close put on record before it runs (one write), so
    // that a silo that finishes it for a dead one knows it began (CloseDetails.Attempt).
    private static readonly ConcurrentDictionary<Type, bool> CloseHooks = new();

    private bool HasCloseHook => CloseHooks.GetOrAdd(GetType(), static type =>
        type.GetMethod(nameof(OnClose), [typeof(Peer), typeof(CloseDetails)])!.DeclaringType != typeof(WebSocketHandler<TState>));

    private BadProviderConfigException NoStorage(string name) => new(
        $"No grain storage named '{name}' is registered for peers of {GetType().FullName}: add one (e.g. AddMemoryGrainStorage(\"{name}\")) or name another with [PeerStorage].");

    /// <summary>The peer's persisted state. Change it in any hook; the runtime writes it.</summary>
    protected TState State => _record.State.State;

    /// <summary>
    /// Reaches other peers and topics of the cluster (send, close, publish, list). While a hook runs, its
    /// sends, closes and publishes are effects of that hook: they leave after the state is written, in the
    /// order they were made, before the hook's reply (<see cref="IWebSocketPeers.Send"/> answers whether the
    /// peer is open at once).
    /// </summary>
    protected IWebSocketPeers Peers => _effects?.Peers ?? _host.Peers;

    /// <summary>Runs this handler without a cluster, over in-memory state (for OrleansWs.Testing).</summary>
    internal DetachedState<PeerRecord<TState>> Detach(HandlerHost host)
    {
        var state = new DetachedState<PeerRecord<TState>>();
        _record = state;
        _host = host;
        _logger = host.Logger;
        return state;
    }

    /// <summary>
    /// crossws' <c>upgrade</c>: decides whether the request becomes a peer. Runs before anything is
    /// stored; a rejection leaves no state or activation behind. Accepts by default.
    /// </summary>
    public virtual ValueTask<UpgradeDecision> OnUpgrade(UpgradeRequest request) => ValueTask.FromResult(Accept());

    /// <summary>crossws' <c>open</c>: completes before the client sees the handshake complete.</summary>
    public virtual Task OnOpen(Peer peer) => Task.CompletedTask;

    /// <summary>crossws' <c>message</c>: one call per message, in the order the client sent them.</summary>
    public virtual Task OnMessage(Peer peer, Message message) => Task.CompletedTask;

    /// <summary>crossws' <c>close</c>: the last hook of a peer, whatever ended the connection.</summary>
    public virtual Task OnClose(Peer peer, CloseDetails details) => Task.CompletedTask;

    /// <summary>
    /// crossws' <c>error</c>. Two kinds of failure reach it: another hook of this peer threw
    /// <paramref name="error"/> (the peer is then closed with 1011; other peers are not affected), or the client
    /// broke the WebSocket protocol and the gateway closed the socket, a <see cref="PeerSocketException"/> with the
    /// close code (1002 a malformed frame, 1007 a text message that is not UTF-8, 1009 a message over the size
    /// limit), just before <c>OnClose</c>. Not reported here, each closing the peer as <c>OnClose</c> then says: a
    /// connection that drops or a keep-alive ping left unanswered (1006), a reader too slow for its send queue (1013), a
    /// failure of the runtime after a hook (a state write or a grain call that fails: 1011, logged); nor a failing
    /// <c>OnUpgrade</c> (the client gets 500) or <c>OnClose</c> (logged).
    /// </summary>
    public virtual Task OnError(Peer peer, Exception error) => Task.CompletedTask;

    /// <inheritdoc cref="UpgradeDecision.Accept"/>
    protected static UpgradeDecision Accept(
        string? protocol = null,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        object? context = null,
        string? @namespace = null) => UpgradeDecision.Accept(protocol, headers, context, @namespace);

    /// <inheritdoc cref="UpgradeDecision.Reject"/>
    protected static UpgradeDecision Reject(
        int status,
        string? body = null,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        string? reasonPhrase = null) => UpgradeDecision.Reject(status, body, headers, reasonPhrase);
}
