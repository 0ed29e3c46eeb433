using System.Net.WebSockets;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>
/// The socket loop of one peer: a receive loop that reads whole messages into the inbound queue, a
/// dispatch loop that hands them to the peer's grain in order (batching what arrived while a call
/// was in flight), and the send side, one writer at a time draining the byte-capped send queue.
/// </summary>
internal sealed partial class WebSocketConnection
{
    private readonly IPeerGrain _grain;
    private readonly GatewayRuntime _runtime;
    private readonly WebSocketGatewayOptions _options;
    private readonly ILogger _logger;
    // The socket an abort reaches (from the handshake on), whether one was asked for, and the timer
    // that aborts a close the client does not answer. No CancellationTokenSource: with one, every idle
    // socket would also keep its registration.
    private WebSocket? _abortable;
    private int _aborted;
    private Timer? _closeTimer;
    // Marks _closeTimer once the socket loop ended, so a close requested after that arms no timer.
    private static readonly Timer LoopEnded = new(static _ => { });
    private CloseRequest? _close;
    private long _queuedBytes;
    private long _inboundBytes;

    // What a queued message costs beyond its payload, so a flood of empty messages still hits the cap.
    private const int MessageOverhead = 64;

    public WebSocketConnection(string peerId, string handlerType, IPeerGrain grain, GatewayRuntime runtime)
    {
        PeerId = peerId;
        HandlerType = handlerType;
        _grain = grain;
        _runtime = runtime;
        _options = runtime.Options;
        _logger = runtime.ConnectionLogger;
    }

    public string PeerId { get; }

    public string HandlerType { get; }

    private volatile bool _isOpen;

    /// <summary>Between a completed handshake and the end of the socket.</summary>
    public bool IsOpen => _isOpen;

    /// <summary>Bytes (with a small per-message overhead) waiting to be written to the socket.</summary>
    public long BufferedAmount => Math.Max(0, Interlocked.Read(ref _queuedBytes));

    /// <summary>Topics this connection is subscribed to, created on the first; guarded by <see cref="TopicFanout"/>'s lock.</summary>
    public HashSet<string>? Topics { get; set; }

    /// <summary>Set once the connection left all its topics; guarded by <see cref="TopicFanout"/>'s lock.</summary>
    public bool TopicsReleased { get; set; }

    /// <summary>Queues a message for the client. Drops it once the connection is closing.</summary>
    public void Enqueue(Message message)
    {
        if (_close is not null)
        {
            return;
        }

        var queued = Interlocked.Add(ref _queuedBytes, message.Data.Length + MessageOverhead);
        if (queued > _options.MaxSendQueueBytes)
        {
            Log.SlowPeer(_logger, PeerId, queued, _options.SlowPeerCloseCode);
            BeginClose(_options.SlowPeerCloseCode, "send queue overflow", dropQueued: true);
            return;
        }

        Send(message);
    }

    /// <summary>Starts the closing handshake from the server side; the connection is aborted if it takes longer than the close timeout.</summary>
    public void BeginClose(int code, string reason, bool dropQueued = false)
    {
        if (!CloseCodes.IsSendable(code) || System.Text.Encoding.UTF8.GetByteCount(reason) > 123)
        {
            (code, reason) = (CloseCodes.InternalError, "invalid close requested");
        }

        RequestClose(new CloseRequest(code, reason, ByServer: true, dropQueued, Terminate: false));
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
        Interlocked.Exchange(ref _inboundRoom, null)?.TrySetCanceled();
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

    /// <summary>
    /// Asks the peer's grain to connect (it runs <c>OnUpgrade</c> and <c>OnOpen</c>), completes the
    /// handshake and runs the peer until its socket ends and its grain has run <c>OnClose</c>.
    /// </summary>
    public async Task RunAsync(HttpContext context, UpgradeRequest request)
    {
        // Registered before OnOpen runs, so whatever the cluster sends the peer meanwhile is queued.
        _runtime.Register(this);
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
                _isOpen = true;
                Log.PeerOpened(_logger, PeerId);
                var closed = Dropped;
                try
                {
                    var sent = await SendOpeningFrames(socket, reply);
                    reply = null!;
                    if (sent)
                    {
                        StartSending(socket);
                        closed = await ReceiveLoop(socket);
                    }
                }
                finally
                {
                    // Whatever ended the socket, the peer leaves this gateway and its grain hears of it,
                    // after every message read before the end.
                    _isOpen = false;
                    _runtime.Unregister(this);
                    _runtime.Topics.Release(this);
                    Log.PeerClosed(_logger, PeerId, closed.Code, closed.Reason, closed.WasClean);
                    RequestClose(new CloseRequest(CloseCodes.Abnormal, "", ByServer: false, DropQueued: true, Terminate: true));
                }

                if (_socket is not null) // the send side was started
                {
                    await SendingEnded();
                }

                await DispatchClose(closed);
                if (closed is { WasClean: false, Code: CloseCodes.ProtocolError or CloseCodes.InvalidPayload })
                {
                    await Linger(context.RequestAborted);
                }
            }
        }
        finally
        {
            _runtime.Unregister(this);
            if (Interlocked.Exchange(ref _closeTimer, LoopEnded) is { } timer && !ReferenceEquals(timer, LoopEnded))
            {
                timer.Dispose();
            }
        }
    }

    // The handshake: the grain connects the peer, OnOpen's subscriptions are made, the 101 goes out.
    // Null when the request was answered otherwise (503, the handler's rejection) or the client left.
    private async Task<(WebSocket Socket, PeerReply Reply)?> Open(HttpContext context, UpgradeRequest request)
    {
        ConnectResult connected;
        try
        {
            var connect = new ConnectRequest(request, _runtime.Delivery, _runtime.Id);
            connected = await ClusterRetry.WhenRejected(() => _grain.Connect(connect), cancellationToken: context.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ConnectFailed(_logger, ex, PeerId);
            // The grain may have opened the peer after all (the call timed out, not failed): close it.
            _ = TellGrainClosedBestEffort();
            await Unavailable(context);
            return null;
        }

        if (!connected.Decision.Accepted)
        {
            Log.UpgradeRejected(_logger, PeerId, connected.Decision.Status);
            await WebSocketEndpoint.Reject(context, connected.Decision);
            return null;
        }

        try
        {
            // Subscriptions made in OnOpen are in place before the client sees the socket open.
            await ApplyTopicChanges(connected.Reply.TopicChanges);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _runtime.Topics.Release(this);
            await TellGrainClosed(new CloseDetails(CloseCodes.InternalError, "topic subscription failed", WasClean: false));
            await Unavailable(context);
            return null;
        }

        try
        {
            foreach (var (name, value) in connected.Decision.Headers)
            {
                context.Response.Headers.Append(name, value);
            }

            var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                SubProtocol = connected.Decision.Protocol,
                KeepAliveInterval = _options.KeepAliveInterval,
                KeepAliveTimeout = _options.KeepAliveTimeout,
            });
            MakeAbortable(socket);
            return (socket, connected.Reply);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            Log.AcceptFailed(_logger, ex, PeerId);
            _runtime.Topics.Release(this);
            await TellGrainClosed(Dropped);
            return null;
        }
    }

    private static Task Unavailable(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        return context.Response.WriteAsync("The WebSocket service is unavailable; try again later.\n", context.RequestAborted);
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

    private bool RequestClose(CloseRequest request)
    {
        if (Interlocked.CompareExchange(ref _close, request, null) is not null)
        {
            return false;
        }

        // The sender drains what is queued (unless told to drop it), then sends the close frame.
        Send(null);
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

    private async Task<bool> SendOpeningFrames(WebSocket socket, PeerReply reply)
    {
        // OnOpen's frames go out ahead of anything that was queued while OnOpen ran.
        try
        {
            foreach (var frame in reply.Frames)
            {
                await socket.SendAsync(frame.Data, frame.IsText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            }
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            Log.SocketFailed(_logger, ex, PeerId, socket.State);
            return false;
        }

        ApplyClose(reply.Close);
        return true;
    }

    private static readonly CloseDetails Dropped = new(CloseCodes.Abnormal, "", WasClean: false);

    private sealed record CloseRequest(int Code, string Reason, bool ByServer, bool DropQueued, bool Terminate);
}
