using System.Net.WebSockets;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>
/// One peer's socket, from the handshake to the grain's <c>OnClose</c>: its lifecycle and its close
/// state machine (the opening, up to the 101, is in WebSocketConnection.Open.cs). The parts it is made of each have a type of their own: the HTTP answers of the
/// handshake (<see cref="WebSocketHandshake"/>), the ordered batches to the grain
/// (<see cref="InboundDispatcher"/>) and the byte-capped send queue with its one writer
/// (<see cref="OutboundQueue"/>).
/// </summary>
/// <remarks>
/// How a connection ends is decided once (<see cref="RequestClose"/>, the first request wins): a close
/// the handler or the gateway asked for (a close frame after what is queued, aborted if the client does
/// not answer within the close timeout), a terminate (abort now), or the socket's own end.
/// </remarks>
internal sealed partial class WebSocketConnection : IInboundTarget, ITopicMember
{
    private readonly IPeerGrain _grain;
    private readonly GatewayRuntime _runtime;
    private readonly WebSocketGatewayOptions _options;
    private readonly ILogger _logger;
    private readonly InboundDispatcher _inbound;
    private readonly OutboundQueue _outbound;
    // The socket an abort reaches (from the handshake on), whether one was asked for, and the timer
    // that aborts a close the client does not answer. No CancellationTokenSource: with one, every idle
    // socket would also keep its registration.
    private WebSocket? _abortable;
    private int _aborted;
    private Timer? _closeTimer;
    // Marks _closeTimer once the socket loop ended, so a close requested after that arms no timer.
    private static readonly Timer LoopEnded = new(static _ => { });
    private CloseRequest? _close;
    private volatile bool _isOpen;
    // The client broke the protocol (1002, 1007, 1009): the grain runs OnError before OnClose.
    private bool _socketError;

    // Resume (docs/protocol.md), for a connection that negotiated it: the connection's epoch, the next client number,
    // how many messages went to the grain (numbered from the welcome's), the last number acknowledged to the client,
    // whether the client has its token, and whether the end is the peer's (a close by the client or the handler)
    // rather than a detach. A resume on the gateway of the old connection replaces it (_previous).
    private readonly ResumeMode? _resume;
    private WebSocketConnection? _previous;
    private ResumeWelcome? _welcome;
    private long _epoch;
    private long _nextNumber = 1;
    private long _dispatched;
    private long _acknowledged;
    private bool _welcomed;
    private long _welcomedSeq;
    private bool _endsPeer;

    public WebSocketConnection(string peerId, string handlerType, IPeerGrain grain, GatewayRuntime runtime, ResumeMode? resume = null)
    {
        _resume = resume;
        PeerId = peerId;
        HandlerType = handlerType;
        _grain = grain;
        _runtime = runtime;
        _options = runtime.Options;
        _logger = runtime.ConnectionLogger;
        _inbound = new InboundDispatcher(this, _options);
        _outbound = new OutboundQueue(_options.MaxSendQueueBytes, _logger, peerId);
    }

    public string PeerId { get; }

    public string HandlerType { get; }

    /// <summary>The peer's namespace, known once its grain accepted it.</summary>
    public string Namespace { get; private set; } = "";

    /// <summary>From just before the 101 leaves until the end of the socket (what listings show).</summary>
    public bool IsOpen => _isOpen;

    /// <summary>Whether the connection's end is decided (a close or terminate was requested, or the socket ended).</summary>
    public bool Closing => Volatile.Read(ref _close) is not null;

    /// <summary>Bytes (with a small per-message overhead) waiting to be written to the socket.</summary>
    public long BufferedAmount => _outbound.BufferedAmount;

    /// <summary>Completes once at most <paramref name="threshold"/> bytes wait to be written (<see langword="false"/> after <paramref name="timeout"/> or when the socket ends).</summary>
    public Task<bool> WaitForDrain(long threshold, TimeSpan timeout) => _outbound.WaitForDrain(threshold, timeout);

    /// <summary>Queues a message for the client. Drops it once the connection is closing; closes a peer whose queue overflows.</summary>
    public void Enqueue(Message message)
    {
        if (_close is not null)
        {
            return;
        }

        if (!_outbound.TryEnqueue(message))
        {
            Log.SlowPeer(_logger, PeerId, _outbound.BufferedAmount + message.Data.Length, _options.SlowPeerCloseCode);
            BeginClose(_options.SlowPeerCloseCode, "send queue overflow", dropQueued: true);
        }
    }

    void ITopicMember.Deliver(Message message, string topic, TopicPosition position, int index)
    {
        if (_resume is null)
        {
            Enqueue(message);
            return;
        }

        var frame = ResumeFraming.Topic(message, topic, position.Value, index);
        if (PassLive(topic, position.Value, index, frame))
        {
            Enqueue(frame);
        }
    }

    /// <summary>Closes the connection because this gateway stops or lost its lease: a resumable one with 1012, so that its client resumes elsewhere.</summary>
    public void BeginShutdown(int code, string reason)
    {
        if (_resume is not null)
        {
            (code, reason) = (CloseCodes.ServiceRestart, "server restarting; resume");
        }

        BeginClose(code, reason);
    }

    void ITopicMember.Close(int code, string reason) => BeginClose(code, reason);

    /// <summary>
    /// Starts the closing handshake from the server side; the connection is aborted if it takes longer than the
    /// close timeout. <see langword="false"/> when the connection's end was already decided.
    /// </summary>
    public bool BeginClose(int code, string reason, bool dropQueued = false)
    {
        if (!CloseCodes.CanSend(code, reason))
        {
            (code, reason) = (CloseCodes.InternalError, "invalid close requested");
        }

        return RequestClose(new CloseRequest(code, reason, ByServer: true, dropQueued, Terminate: false));
    }

    /// <summary>Aborts the connection without a close frame.</summary>
    public void Terminate()
    {
        if (RequestClose(new CloseRequest(CloseCodes.Abnormal, "", ByServer: true, DropQueued: true, Terminate: true)))
        {
            Abort();
        }
    }

    // Fails the socket's pending and later reads and writes, and a receive loop waiting for room. An
    // abort after the socket loop has disposed the socket does nothing (the socket guards that).
    private void Abort()
    {
        Interlocked.Exchange(ref _aborted, 1);
        Volatile.Read(ref _abortable)?.Abort();
        _inbound.Abort();
    }

    // From the handshake on, an abort reaches the socket; one asked for before is carried out now.
    private void MakeAbortable(WebSocket socket)
    {
        Interlocked.Exchange(ref _abortable, socket);
        if (Volatile.Read(ref _aborted) == 1)
        {
            socket.Abort();
        }
    }

    private bool RequestClose(CloseRequest request)
    {
        if (Interlocked.CompareExchange(ref _close, request, null) is not null)
        {
            return false;
        }

        // The send side drains what is queued (unless told to drop it), then sends the close frame.
        _outbound.Close(request);
        if (!request.Terminate)
        {
            var timer = new Timer(static state => ((WebSocketConnection)state!).Abort(), this, _options.CloseTimeout, Timeout.InfiniteTimeSpan);
            if (Interlocked.CompareExchange(ref _closeTimer, timer, null) is not null)
            {
                timer.Dispose(); // the socket loop has ended: nothing left to abort
            }
        }

        return true;
    }

    /// <summary>
    /// Asks the peer's grain to connect (it runs <c>OnUpgrade</c> and <c>OnOpen</c>), completes the
    /// handshake and runs the peer until its socket ends and its grain has run <c>OnClose</c>.
    /// </summary>
    public async Task RunAsync(HttpContext context, UpgradeRequest request)
    {
        // Registered before OnOpen runs, so whatever the cluster sends the peer meanwhile is queued. A resume on the
        // gateway that holds the peer's old connection replaces it here; the old one is closed once the grain accepts.
        _previous = _runtime.Connections.Register(this);
        try
        {
            // This method's state lives as long as the socket: it lets go of the handshake's data.
            var opened = await Open(context, request);
            request = null!;
            if (opened is null)
            {
                return;
            }

            var (socket, reply) = opened.Value;
            opened = null;

            using (socket)
            {
                Log.PeerOpened(_logger, PeerId);
                var closed = Dropped;
                try
                {
                    var sent = await SendOpeningFrames(socket, reply);
                    reply = null!;
                    if (sent)
                    {
                        _outbound.Start(socket);
                        closed = await ReceiveLoop(socket);
                    }
                }
                finally
                {
                    // Whatever ended the socket, the peer leaves this gateway and its grain hears of it,
                    // after every message read before the end.
                    _isOpen = false;
                    _runtime.Connections.Unregister(this);
                    RequestClose(Ended);
                    _runtime.Topics.Release(this);
                    Log.PeerClosed(_logger, PeerId, closed.Code, closed.Reason, closed.WasClean);
                }

                if (_outbound.Started)
                {
                    await _outbound.Ended();
                }

                await _inbound.Drained;
                if (_inbound.Lost > 0)
                {
                    Log.MessagesLost(_logger, PeerId, _inbound.Lost);
                }

                await TellGrainClosed(closed, _socketError);
                if (closed is { WasClean: false, Code: CloseCodes.ProtocolError or CloseCodes.InvalidPayload })
                {
                    await Linger(context.RequestAborted);
                }
            }
        }
        finally
        {
            _runtime.Connections.Unregister(this);
            // However the request ended (the client left while OnOpen ran, too), no topic keeps this connection.
            RequestClose(Ended);
            _runtime.Topics.Release(this);
            if (Interlocked.Exchange(ref _closeTimer, LoopEnded) is { } timer && !ReferenceEquals(timer, LoopEnded))
            {
                timer.Dispose();
            }
        }
    }

    // The runtime sends its 1002/1007 close frame and then aborts the socket; ending the request at
    // once can tear the connection down before that frame leaves, and the client sees a reset
    // instead of the reason. Hold the connection until the client hangs up, within the close timeout.
    private async Task Linger(CancellationToken clientGone)
    {
        try
        {
            await Task.Delay(_options.CloseTimeout, clientGone);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static readonly CloseDetails Dropped = new(CloseCodes.Abnormal, "", WasClean: false);

    // The socket ended (or never opened): nothing more is sent, and nothing waits for a close frame.
    private static readonly CloseRequest Ended = new(CloseCodes.Abnormal, "", ByServer: false, DropQueued: true, Terminate: true);
}
