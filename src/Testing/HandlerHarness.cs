using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Serialization;
using OrleansWs.Internal;

namespace OrleansWs.Testing;

/// <summary>
/// Runs one handler's hooks for one peer without a cluster: milliseconds per test. Each call returns
/// what the hooks asked for (frames, topic changes, close); publishes and calls made through the
/// handler's <c>Peers</c> are recorded; the peer's state and its writes can be read.
/// </summary>
/// <example>
/// <code>
/// var chat = new HandlerHarness&lt;ChatHandler, ChatState&gt;();
/// var opened = await chat.Connect("/ws/chat?room=a");
/// Assert.Equal(["a"], chat.Topics);
/// await chat.Receive("hi");
/// Assert.Equal("hi", chat.Published.Single().Message.Text());
/// </code>
/// </example>
public sealed class HandlerHarness<THandler, TState>
    where THandler : WebSocketHandler<TState>
    where TState : class, new()
{
    private static readonly Lazy<Serializer> SharedSerializer = new(() =>
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>());

    private readonly THandler _handler;
    private readonly DetachedState<PeerRecord<TState>> _state;
    private readonly IPeerGrain _grain;
    private readonly List<Published> _published = [];
    private readonly List<PeerReply> _delivered = [];

    /// <summary>
    /// Creates a handler instance for one peer: with its parameterless constructor, or with <paramref name="create"/> for
    /// one whose constructor takes what a silo would inject (an <see cref="IGrainFactory"/>, e.g. a
    /// <see cref="FakeGrainFactory"/>, or other services).
    /// </summary>
    /// <param name="handlerType">The grain type the peer id is made from.</param>
    /// <param name="logger">Where the pipeline logs (hook failures are logged at Error).</param>
    /// <param name="create">Makes the handler instance; by default its parameterless constructor.</param>
    public HandlerHarness(string handlerType = "handler", ILogger? logger = null, Func<THandler>? create = null)
    {
        create ??= Create;
        ArgumentNullException.ThrowIfNull(create);
        PeerId = PeerIds.New(handlerType);
        Peers = new RecordingPeers(this);
        _handler = create();
        _state = _handler.Detach(new HarnessHost(this, logger ?? NullLogger.Instance));
        _grain = _handler;
    }

    private static THandler Create() =>
        typeof(THandler).GetConstructor(Type.EmptyTypes) is not null
            ? Activator.CreateInstance<THandler>()
            : throw new InvalidOperationException(
                $"{typeof(THandler).Name} has no parameterless constructor: pass new HandlerHarness<…>(create: () => new {typeof(THandler).Name}(…)).");

    /// <summary>The handler instance the hooks run on (its own members, e.g. what its constructor was given).</summary>
    public THandler Handler => _handler;

    /// <summary>The peer's id.</summary>
    public string PeerId { get; }

    /// <summary>The fake behind the handler's <c>Peers</c>: records sends, closes and publishes; answers listings from <see cref="RecordingPeers.OpenPeers"/>.</summary>
    public RecordingPeers Peers { get; }

    /// <summary>Every publish, from hooks (sender excluded) and through <see cref="Peers"/>, in order.</summary>
    public IReadOnlyList<Published> Published => _published;

    /// <summary>The peer's state as the hooks left it; a fresh instance once the peer closed.</summary>
    public TState State => _state.State.State;

    /// <summary>Whether storage holds a record (after open, until the close clears it).</summary>
    public bool StateStored => _state.RecordExists;

    /// <summary>How many times the runtime wrote the peer's state.</summary>
    public int StateWrites => _state.Writes;

    /// <summary>The peer's namespace (its path, or the one <c>OnUpgrade</c> chose), once connected.</summary>
    public string? Namespace => _state.State.Namespace;

    /// <summary>The peer's context, as its hooks see it now.</summary>
    public object? Context => ((IPeerFacts)_handler).Context;

    /// <summary>The peer's topics.</summary>
    public IReadOnlyList<string> Topics => _state.State.Topics;

    /// <summary>Whether the pipeline let the activation go (after a rejection or a close).</summary>
    public bool Deactivated { get; private set; }

    /// <summary>Runs <c>OnUpgrade</c> and, if it accepts, <c>OnOpen</c>, for a request to <paramref name="pathAndQuery"/>.</summary>
    public async Task<Opened> Connect(string pathAndQuery, Action<UpgradeRequestBuilder>? configure = null)
    {
        var builder = new UpgradeRequestBuilder(pathAndQuery);
        configure?.Invoke(builder);
        var result = await _grain.Connect(new ConnectRequest(builder.Build(), new NoGateway(this), Guid.Empty, builder.NegotiatedExtensions));
        return new Opened(result.Answer, Effects(result.Reply));
    }

    /// <summary>Runs <c>OnMessage</c> for each message, in order, as one batch.</summary>
    public async Task<HookEffects> Receive(params Message[] messages) => Effects(await _grain.Receive(new InboundBatch(messages, 0)));

    // A hook's effects on its own connection: those a commit point (WaitForDrain) delivered, then the reply's.
    private HookEffects Effects(PeerReply reply)
    {
        var effects = HookEffects.From([.. _delivered, reply]);
        _delivered.Clear();
        return effects;
    }

    /// <summary>Runs <c>OnMessage</c> for a text message.</summary>
    public Task<HookEffects> Receive(string text) => Receive(Message.FromText(text));

    /// <summary>
    /// Runs <c>OnClose</c>; the state is cleared afterwards. With <paramref name="socketError"/>, the client broke
    /// the protocol as the code says (1002, 1007, 1009): <c>OnError</c> gets a <see cref="PeerSocketException"/> first.
    /// </summary>
    public Task Close(int code = CloseCodes.Normal, string reason = "", bool wasClean = true, bool socketError = false) =>
        socketError ? _grain.ClosedByError(new CloseDetails(code, reason, wasClean)) : _grain.Closed(new CloseDetails(code, reason, wasClean));

    /// <summary>What a connect produced.</summary>
    /// <param name="Decision">The HTTP side of the upgrade decision (status, headers, body, sub-protocol, namespace).</param>
    /// <param name="Reply">The effects of <c>OnOpen</c>: frames, topic changes, close.</param>
    public sealed record Opened(HandshakeAnswer Decision, HookEffects Reply);

    // Hooks reach no gateway in the harness: what a commit point delivers joins the call's effects.
    private sealed class NoGateway(HandlerHarness<THandler, TState> harness) : IGatewayDelivery
    {
        public Task<bool> Apply(string peerId, PeerReply effects)
        {
            harness._delivered.Add(effects);
            return Task.FromResult(true);
        }

        public Task<IReadOnlyList<string>> GetOpenPeers(string @namespace) => Task.FromResult<IReadOnlyList<string>>([]);

        public Task<long> GetBufferedAmount(string peerId) => Task.FromResult(0L);

        public Task<bool> WaitForDrain(string peerId, long threshold, TimeSpan timeout) => Task.FromResult(true);
    }

    /// <summary>Records what a handler does to other peers through <c>Peers</c>.</summary>
    public sealed class RecordingPeers(HandlerHarness<THandler, TState> harness) : IWebSocketPeers
    {
        /// <summary>Sends by peer id, in order.</summary>
        public List<(string PeerId, Message Message)> Sent { get; } = [];

        /// <summary>Closes by peer id, in order.</summary>
        public List<(string PeerId, int Code, string Reason)> Closed { get; } = [];

        /// <summary>What listings of any namespace return (the harness's own peer is added to its namespace's while it is open).</summary>
        public List<string> OpenPeers { get; } = [];

        /// <inheritdoc />
        public Task Publish(string topic, Message message)
        {
            harness._published.Add(new Published(topic, message, null));
            return Task.CompletedTask;
        }

        /// <inheritdoc />
        public Task Publish(string topic, Message message, string @namespace)
        {
            harness._published.Add(new Published(topic, message, null, @namespace));
            return Task.CompletedTask;
        }

        /// <inheritdoc />
        public Task<bool> Send(string peerId, Message message)
        {
            Sent.Add((peerId, message));
            return Task.FromResult(true);
        }

        /// <inheritdoc />
        public Task<PeerPresence> SendTo(string peerId, Message message)
        {
            Sent.Add((peerId, message));
            return Task.FromResult(PeerPresence.Connected);
        }

        /// <inheritdoc />
        public Task<bool> Close(string peerId, int code = CloseCodes.Normal, string reason = "")
        {
            Closed.Add((peerId, code, reason));
            return Task.FromResult(true);
        }

        /// <inheritdoc />
        public Task<bool> Terminate(string peerId) => Close(peerId, CloseCodes.Abnormal, "terminated");

        /// <inheritdoc />
        public Task<PeerListing> GetPeers(string @namespace)
        {
            var peers = OpenPeers.ToList();
            if (harness.StateStored && harness.Namespace == @namespace && !peers.Contains(harness.PeerId))
            {
                peers.Add(harness.PeerId);
            }

            peers.Sort(StringComparer.Ordinal);
            return Task.FromResult(new PeerListing(peers));
        }

        /// <inheritdoc />
        public Task<IReadOnlyList<string>?> GetTopics(string peerId) =>
            Task.FromResult<IReadOnlyList<string>?>(peerId == harness.PeerId && harness.StateStored ? harness.Topics.ToArray() : null);
    }

    private sealed class HarnessHost(HandlerHarness<THandler, TState> harness, ILogger logger)
        : HandlerHost(harness.PeerId, harness.Peers, SharedSerializer.Value, logger)
    {
        // No gateways: every publish is queued everywhere at once.
        public override Task<TopicQueued> Publish(string topic, IReadOnlyList<Message> messages, PublishOptions options)
        {
            harness._published.AddRange(messages.Select(message => new Published(topic, message, options.ExcludePeerId, options.Namespace)));
            return Task.FromResult(TopicQueued.All);
        }

        // Every peer a hook names is open in the harness; Peers records what the hook does to it.
        public override Task<PeerPresence> Presence(string peerId) => Task.FromResult(PeerPresence.Connected);

        public override Task TrackPeer(Guid gatewayId, string peerId, bool open) => Task.CompletedTask;

        // The harness's peer never detaches (it has no connection to lose).
        public override Task ListDetached(string @namespace, DateTime? untilUtc) => Task.CompletedTask;

        public override void Deactivate() => harness.Deactivated = true;
    }
}

/// <summary>A publish a handler made.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Message">The message.</param>
/// <param name="ExcludedPeerId">The peer left out (the sender, for a peer's publish).</param>
/// <param name="Namespace">The only namespace it reaches (the sender's, for a peer's publish); <see langword="null"/>: every namespace.</param>
public sealed record Published(string Topic, Message Message, string? ExcludedPeerId, string? Namespace = null);
