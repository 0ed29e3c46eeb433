using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace OrleansWs.Testing;

/// <summary>
/// A WebSocket client built for assertions. A background loop reads every frame into a queue, so
/// waits never miss a frame and the close handshake is answered. Every wait has a timeout whose
/// failure says what was awaited and what arrived instead.
/// </summary>
public sealed partial class TestClient : IAsyncDisposable
{
    private readonly ClientWebSocket? _socket;
    private readonly Client.ResumableWebSocket? _resumable;
    private readonly Channel<Received> _received = Channel.CreateUnbounded<Received>();
    private readonly Task _reading;
    private readonly TimeSpan _timeout;

    private TestClient(ClientWebSocket? socket, Client.ResumableWebSocket? resumable, Uri uri, TimeSpan timeout)
    {
        (_socket, _resumable) = (socket, resumable);
        Uri = uri;
        _timeout = timeout;
        _reading = resumable is null ? ReadLoop(socket!) : ReadResumable(resumable);
    }

    /// <summary>The URL it connected to.</summary>
    public Uri Uri { get; }

    /// <summary>The underlying socket.</summary>
    public ClientWebSocket Socket => _socket ?? throw new InvalidOperationException("A resumable client has no one socket: see Resumable.");

    /// <summary>The sub-protocol the server chose, or <see langword="null"/>.</summary>
    public string? SubProtocol => _resumable is { } resumable ? resumable.SubProtocol : _socket!.SubProtocol;

    /// <summary>The handshake response's status (101).</summary>
    public HttpStatusCode HandshakeStatus => _socket?.HttpStatusCode ?? HttpStatusCode.SwitchingProtocols;

    /// <summary>The handshake response's headers.</summary>
    public IReadOnlyDictionary<string, IEnumerable<string>> HandshakeHeaders => _socket?.HttpResponseHeaders ?? new Dictionary<string, IEnumerable<string>>();

    /// <summary>Connects to <paramref name="uri"/>.</summary>
    public static async Task<TestClient> ConnectAsync(Uri uri, TimeSpan timeout, Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        configure?.Invoke(socket.Options);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(uri, cts.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            throw new WebSocketException($"Connecting to {uri} failed (HTTP {(int)status}): {ex.Message}", ex);
        }

        return new TestClient(socket, null, uri, timeout);
    }

    /// <summary>Sends a text message.</summary>
    public Task SendText(string text) => Send(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);

    /// <summary>Sends a binary message.</summary>
    public Task SendBinary(byte[] data) => Send(data, WebSocketMessageType.Binary);

    /// <summary>Sends <paramref name="value"/> as JSON text (web defaults).</summary>
    public Task SendJson<T>(T value) => Send(JsonSerializer.SerializeToUtf8Bytes(value, JsonSerializerOptions.Web), WebSocketMessageType.Text);

    /// <summary>Sends raw bytes in a text frame, valid UTF-8 or not (for bad-input tests).</summary>
    public Task SendTextBytes(byte[] data) => Send(data, WebSocketMessageType.Text);

    /// <summary>Sends one message split over frames of <paramref name="fragmentSize"/> bytes.</summary>
    public async Task SendFragmented(byte[] data, WebSocketMessageType type, int fragmentSize)
    {
        using var cts = new CancellationTokenSource(_timeout);
        for (var offset = 0; offset < data.Length; offset += fragmentSize)
        {
            var count = Math.Min(fragmentSize, data.Length - offset);
            await Socket.SendAsync(data.AsMemory(offset, count), type, offset + count == data.Length, cts.Token);
        }
    }

    /// <summary>The next message, text or binary.</summary>
    public async Task<ReceivedMessage> Receive(TimeSpan? timeout = null)
    {
        var next = await Next(timeout, "a message");
        return next as ReceivedMessage ?? throw new TimeoutException(WithServerErrors($"Expected a message from {Uri} but the connection closed: {next}."));
    }

    /// <summary>The next message, which must be text.</summary>
    public async Task<string> ReceiveText(TimeSpan? timeout = null)
    {
        var message = await Receive(timeout);
        return message.IsText ? message.Text : throw new InvalidOperationException($"Expected a text message from {Uri} but got {message}.");
    }

    /// <summary>The next message, which must be binary.</summary>
    public async Task<byte[]> ReceiveBinary(TimeSpan? timeout = null)
    {
        var message = await Receive(timeout);
        return !message.IsText ? message.Data : throw new InvalidOperationException($"Expected a binary message from {Uri} but got {message}.");
    }

    /// <summary>
    /// The next message parsed as JSON (web defaults: camelCase), strictly: a member <typeparamref name="T"/> does not
    /// have, a missing constructor parameter or a null where <typeparamref name="T"/> has none fails with the text
    /// that came, instead of filling defaults.
    /// </summary>
    public async Task<T> ReceiveJson<T>(TimeSpan? timeout = null)
    {
        var text = await ReceiveText(timeout);
        try
        {
            return JsonSerializer.Deserialize<T>(text, StrictJson) ?? throw new JsonException("null");
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"Expected JSON of {typeof(T).Name} from {Uri} but got '{text}': {ex.Message}", ex);
        }
    }

    private static readonly JsonSerializerOptions StrictJson = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
    };

    /// <summary>What the servers logged as errors about this client's peer, for failure messages (the kit's clients have it).</summary>
    internal Func<string, string?>? ServerErrors { get; set; }

    // A failure message says what the server's hooks threw, so a test that sees a 1011 also sees why.
    private string WithServerErrors(string message) =>
        PeerId is { } peerId && ServerErrors?.Invoke(peerId) is { Length: > 0 } errors
            ? message + "\nErrors the servers logged for peer " + peerId + ":\n" + errors
            : message;

    /// <summary>The 101 header by which the kit's gateways tell a client its peer id (<c>WebSocketGatewayOptions.PeerIdHeader</c>).</summary>
    public const string PeerIdHeader = "OrleansWs-Peer-Id";

    /// <summary>
    /// The peer id the gateway gave this connection in its 101 (the kit's gateways do; see <see cref="PeerIdHeader"/>),
    /// or <see langword="null"/> when it sent none.
    /// </summary>
    public string? PeerId => _resumable is { } resumable ? resumable.PeerId : HandshakeHeaders.TryGetValue(PeerIdHeader, out var values) ? values.FirstOrDefault() : null;

    /// <summary>
    /// The next thing the client read, whatever it is: a <see cref="ReceivedMessage"/>, the server's close
    /// (<see cref="ClosedByServer"/>) or the loss of the connection (<see cref="ConnectionLost"/>), for a test that
    /// reads a stream up to its end.
    /// </summary>
    public Task<Received> ReceiveAny(TimeSpan? timeout = null) => Next(timeout, "anything");

    /// <summary>Asserts that nothing arrives within <paramref name="window"/>.</summary>
    public async Task ExpectNoMessage(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            var next = await _received.Reader.ReadAsync(cts.Token);
            throw new InvalidOperationException($"Expected nothing from {Uri} for {window.TotalMilliseconds} ms but got {next}.");
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Waits for the server to close the connection; checks the code when one is given.</summary>
    public async Task<ClosedByServer> ExpectClose(int? code = null, TimeSpan? timeout = null)
    {
        while (true)
        {
            var next = await Next(timeout, code is null ? "a close" : $"a close with {code}");
            if (next is ClosedByServer closed)
            {
                if (code is not null && closed.Code != code)
                {
                    throw new InvalidOperationException(WithServerErrors($"Expected a close with {code} from {Uri} but got {closed}."));
                }

                return closed;
            }

            if (code is not null)
            {
                throw new InvalidOperationException($"Expected a close with {code} from {Uri} but got {next} first.");
            }
        }
    }

    /// <summary>Closes the connection from the client side and waits for the server's answer.</summary>
    public async Task Close(int code = 1000, string reason = "")
    {
        if (_resumable is { } resumable)
        {
            await resumable.CloseAsync((WebSocketCloseStatus)code, reason).WaitAsync(_timeout);
        }
        else
        {
            using var cts = new CancellationTokenSource(_timeout);
            await _socket!.CloseOutputAsync((WebSocketCloseStatus)code, reason, cts.Token);
        }

        await _reading.WaitAsync(_timeout);
    }

    /// <summary>
    /// Drops the TCP connection without a close frame, as a client that vanished (a resumable client then reconnects
    /// and resumes, as after a network failure).
    /// </summary>
    public void Abort()
    {
        if (_resumable is { } resumable)
        {
            resumable.AbortConnection();
        }
        else
        {
            _socket!.Abort();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_resumable is { } resumable)
        {
            await resumable.DisposeAsync();
        }

        _socket?.Abort();
        try
        {
            await _reading.WaitAsync(_timeout);
        }
        catch (TimeoutException)
        {
        }

        _socket?.Dispose();
    }

    private async Task<Received> Next(TimeSpan? timeout, string awaited)
    {
        var limit = timeout ?? _timeout;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            return await _received.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException(WithServerErrors($"Waited {limit.TotalMilliseconds} ms for {awaited} from {Uri}; nothing arrived (socket {State})."));
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException(WithServerErrors($"Waited for {awaited} from {Uri}, but the connection is gone (socket {State})."));
        }
    }

    private async Task Send(byte[] data, WebSocketMessageType type)
    {
        if (_resumable is { } resumable)
        {
            await resumable.SendAsync(data, type == WebSocketMessageType.Text).AsTask().WaitAsync(_timeout);
            return;
        }

        using var cts = new CancellationTokenSource(_timeout);
        await _socket!.SendAsync(data, type, endOfMessage: true, cts.Token);
    }

    private string State => _socket?.State.ToString() ?? "resumable";

    private async Task ReadLoop(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                using var message = new MemoryStream();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        var code = socket.CloseStatus is { } s ? (int)s : 1005;
                        _received.Writer.TryWrite(new ClosedByServer(code, socket.CloseStatusDescription ?? ""));
                        if (socket.State == WebSocketState.CloseReceived)
                        {
                            await socket.CloseOutputAsync(socket.CloseStatus ?? WebSocketCloseStatus.Empty, socket.CloseStatusDescription, CancellationToken.None);
                        }

                        return;
                    }

                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                _received.Writer.TryWrite(new ReceivedMessage(message.ToArray(), result.MessageType == WebSocketMessageType.Text));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            _received.Writer.TryWrite(new ConnectionLost(ex.Message));
        }
        finally
        {
            _received.Writer.TryComplete();
        }
    }

    /// <summary>Something the client read.</summary>
    public abstract record Received;

    /// <summary>A message from the server.</summary>
    public sealed record ReceivedMessage(byte[] Data, bool IsText) : Received
    {
        /// <summary>The payload as UTF-8.</summary>
        public string Text => Encoding.UTF8.GetString(Data);

        /// <inheritdoc />
        public override string ToString() => IsText ? $"text '{Text}'" : $"binary [{Data.Length} bytes]";
    }

    /// <summary>A close frame from the server.</summary>
    public sealed record ClosedByServer(int Code, string Reason) : Received
    {
        /// <inheritdoc />
        public override string ToString() => $"close {Code} '{Reason}'";
    }

    /// <summary>The connection dropped without a close frame.</summary>
    public sealed record ConnectionLost(string Error) : Received
    {
        /// <inheritdoc />
        public override string ToString() => $"connection lost ({Error})";
    }
}
