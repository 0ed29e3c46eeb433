using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace OrleansWs.Client;

/// <summary>
/// A WebSocket to an OrleansWs endpoint that survives its connection (docs/protocol.md): when the socket drops, or its
/// gateway stops or dies, the client reconnects with exponential back-off and full jitter, through any gateway, and
/// resumes its peer (same id, state and topics) within the server's resume window. Every frame it missed arrives once,
/// in order, and every message it sent is applied once: messages are buffered (bounded) until the server says they are
/// on record, and sent again after a resume. Against an endpoint without resume it is a plain WebSocket that reconnects.
/// </summary>
/// <example>
/// <code>
/// await using var socket = await ResumableWebSocket.ConnectAsync(new Uri("ws://localhost:5000/ws/chat"));
/// await socket.SendAsync("hello");
/// await foreach (var message in socket.ReadAllAsync())
/// {
///     Console.WriteLine(message.Text());
/// }
/// </code>
/// </example>
public sealed partial class ResumableWebSocket : IAsyncDisposable
{
    private const string Protocol = "orleansws.v1";
    private const string Prefix = "orleansws.v1+";

    private readonly Uri _uri;
    private readonly ResumableWebSocketOptions _options;
    private readonly Channel<ReceivedMessage> _received = Channel.CreateUnbounded<ReceivedMessage>();
    // Sends go out one at a time, in number order; a resume sends the unacknowledged ones again before any new one.
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly Lock _lock = new();
    private readonly LinkedList<(long Number, byte[] Frame, bool IsText)> _unacked = new();
    private readonly Dictionary<string, string> _positions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopped = new();
    private readonly Timer _ackTimer;
    private long _unackedBytes;
    private ClientWebSocket? _socket;
    private string? _token;
    private long _lastSeq;
    private long _ackedSeq;
    private long _nextNumber;
    private bool _closing;
    private Task _loop = Task.CompletedTask;

    private ResumableWebSocket(Uri uri, ResumableWebSocketOptions options)
    {
        (_uri, _options) = (uri, options);
        _ackTimer = new Timer(static state => _ = ((ResumableWebSocket)state!).SendAck(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>The peer's id on the server (a new one after a resume that did not recover).</summary>
    public string? PeerId { get; private set; }

    /// <summary>Whether the server speaks resume on this endpoint; without it the client reconnects as a new peer.</summary>
    public bool IsResumable { get; private set; }

    /// <summary>The application sub-protocol the server chose, or <see langword="null"/>.</summary>
    public string? SubProtocol { get; private set; }

    /// <summary>Bytes of messages sent and not yet acknowledged by the server (kept to send again after a resume).</summary>
    public long BufferedAmount
    {
        get
        {
            lock (_lock)
            {
                return _unackedBytes;
            }
        }
    }

    /// <summary>A connection opened (the first one, and each reconnect's).</summary>
    public event EventHandler? Opened;

    /// <summary>The connection dropped and the client is about to reconnect.</summary>
    public event EventHandler<ReconnectingEventArgs>? Reconnecting;

    /// <summary>A reconnect completed: the peer was resumed, or (<see cref="ResumedEventArgs.Recovered"/> false) it could not be.</summary>
    public event EventHandler<ResumedEventArgs>? Resumed;

    /// <summary>The connection ended for good: closed by either side, or the client gave up reconnecting.</summary>
    public event EventHandler<ClosedEventArgs>? Closed;

    /// <summary>Connects to <paramref name="uri"/>; fails when the first connect does (later ones are retried).</summary>
    public static async Task<ResumableWebSocket> ConnectAsync(Uri uri, ResumableWebSocketOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var client = new ResumableWebSocket(uri, options ?? new ResumableWebSocketOptions());
        var socket = await client.Dial(client._uri, resume: false, cancellationToken);
        client.Opened?.Invoke(client, EventArgs.Empty);
        client._loop = client.Run(socket);
        return client;
    }

    /// <summary>Sends a text message; buffered while reconnecting. Throws when the buffer is full or the client has closed.</summary>
    public ValueTask SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text), isText: true);

    /// <summary>Sends a message; buffered while reconnecting. Throws when the buffer is full or the client has closed.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> payload, bool isText = false)
    {
        byte[] frame;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_closing, this);
            if (_unacked.Count >= _options.MaxBufferedMessages || _unackedBytes + payload.Length > _options.MaxBufferedBytes)
            {
                throw new InvalidOperationException($"The send buffer is full ({_unacked.Count} messages, {_unackedBytes} bytes not acknowledged).");
            }

            frame = IsResumable ? Framed(++_nextNumber, payload.Span) : payload.ToArray();
            _unacked.AddLast((_nextNumber, frame, isText));
            _unackedBytes += payload.Length;
        }

        await _sending.WaitAsync();
        try
        {
            if (_socket is { State: WebSocketState.Open } socket)
            {
                await socket.SendAsync(frame, isText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
                if (!IsResumable)
                {
                    // Nothing acknowledges a plain socket's messages: once written they are the socket's.
                    Acknowledged(long.MaxValue);
                }
            }
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            // Sent again after the resume.
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>The server's messages, in order, until the connection ends for good.</summary>
    public IAsyncEnumerable<ReceivedMessage> ReadAllAsync(CancellationToken cancellationToken = default) => _received.Reader.ReadAllAsync(cancellationToken);

    /// <summary>Closes the connection (the peer ends on the server: no resume follows).</summary>
    public async Task CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null)
    {
        ClientWebSocket? socket;
        lock (_lock)
        {
            _closing = true;
            socket = _socket;
        }

        if (!_disposed)
        {
            _stopped.Cancel();
        }

        if (socket is { State: WebSocketState.Open or WebSocketState.CloseReceived })
        {
            try
            {
                using var timeout = new CancellationTokenSource(_options.ConnectTimeout);
                await socket.CloseAsync(status, reason, timeout.Token);
            }
            catch (Exception ex) when (IsSocketFailure(ex))
            {
            }
        }

        await _loop;
    }

    /// <summary>
    /// Drops the current connection without a close, as a network failure would: the client reconnects and resumes
    /// (a test of what a drop does).
    /// </summary>
    public void AbortConnection()
    {
        lock (_lock)
        {
            _socket?.Abort();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await CloseAsync();
        _disposed = true;
        await _ackTimer.DisposeAsync();
        _stopped.Dispose();
    }

    private bool _disposed;

    private void Acknowledged(long applied)
    {
        lock (_lock)
        {
            while (_unacked.First is { } first && first.Value.Number <= applied)
            {
                _unackedBytes -= IsResumable ? Payload(first.Value.Frame).Length : first.Value.Frame.Length;
                _unacked.RemoveFirst();
            }
        }
    }

    // One whole message, or null once the server closed.
    private static async Task<(byte[] Data, bool IsText)?> ReceiveFrame(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.GetMemory(4096), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            buffer.Advance(result.Count);
            if (result.EndOfMessage)
            {
                return (buffer.WrittenSpan.ToArray(), result.MessageType == WebSocketMessageType.Text);
            }
        }
    }

    private static byte[] Framed(long number, ReadOnlySpan<byte> payload)
    {
        var header = Encoding.ASCII.GetBytes($"{{\"s\":{number}}}\n");
        var frame = new byte[header.Length + payload.Length];
        header.CopyTo(frame, 0);
        payload.CopyTo(frame.AsSpan(header.Length));
        return frame;
    }

    private static ReadOnlySpan<byte> Payload(byte[] frame) => frame.AsSpan(frame.AsSpan().IndexOf((byte)'\n') + 1);

    private static byte[] Header(byte[] data, out Range payload)
    {
        var newline = data.AsSpan().IndexOf((byte)'\n');
        payload = newline < 0 ? new Range(data.Length, data.Length) : new Range(newline + 1, data.Length);
        return newline < 0 ? data : data[..newline];
    }

    private static bool IsSocketFailure(Exception ex) =>
        ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException or System.Net.Http.HttpRequestException;
}
