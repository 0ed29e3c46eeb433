using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace OrleansWs.Client;

// The connection's life: the handshake (a resume's query and welcome), the loop over connections, and reconnects with
// back-off.
public sealed partial class ResumableWebSocket
{
    // One connection: the handshake, then (resume) the welcome and the messages not acknowledged, sent again.
    private async Task<ClientWebSocket> Dial(Uri uri, bool resume, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            foreach (var protocol in _options.SubProtocols)
            {
                socket.Options.AddSubProtocol(Prefix + protocol);
            }

            socket.Options.AddSubProtocol(Protocol);
            _options.Configure?.Invoke(socket.Options);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopped.Token);
            timeout.CancelAfter(_options.ConnectTimeout);
            await socket.ConnectAsync(resume ? ResumeUri(uri) : uri, timeout.Token);
            var chosen = socket.SubProtocol;
            IsResumable = chosen == Protocol || chosen?.StartsWith(Prefix, StringComparison.Ordinal) == true;
            SubProtocol = IsResumable ? (chosen!.Length > Prefix.Length ? chosen[Prefix.Length..] : null) : chosen;
            if (!IsResumable)
            {
                await Resend(socket);
                return socket;
            }

            var welcome = await ReceiveFrame(socket, timeout.Token);
            if (welcome is null)
            {
                if (socket.CloseStatus == (WebSocketCloseStatus)4403 && resume)
                {
                    // The peer is gone (or the token no longer holds): a new one, and the application is told.
                    socket.Dispose();
                    ForgetPeer();
                    var fresh = await Dial(uri, resume: false, cancellationToken);
                    Resumed?.Invoke(this, new ResumedEventArgs(false, PeerId!));
                    return fresh;
                }

                throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, $"The server closed the connection ({socket.CloseStatus} {socket.CloseStatusDescription}).");
            }

            using var header = JsonDocument.Parse(Header(welcome.Value.Data, out _));
            var root = header.RootElement;
            if (!root.TryGetProperty("op", out var op) || op.GetString() != "welcome")
            {
                throw new WebSocketException(WebSocketError.InvalidMessageType, "The server's first frame is not a welcome.");
            }

            var recovered = root.GetProperty("recovered").GetBoolean();
            PeerId = root.GetProperty("peer").GetString();
            _token = root.GetProperty("token").GetString();
            Acknowledged(root.GetProperty("a").GetInt64());
            await Resend(socket);
            if (resume)
            {
                Resumed?.Invoke(this, new ResumedEventArgs(recovered, PeerId!));
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // What was sent and not acknowledged goes again, in order, before any new message (which waits for the lock).
    private async Task Resend(ClientWebSocket socket)
    {
        await _sending.WaitAsync();
        try
        {
            (long, byte[], bool)[] pending;
            lock (_lock)
            {
                pending = [.. _unacked];
            }

            foreach (var (_, frame, isText) in pending)
            {
                await socket.SendAsync(frame, isText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            }

            if (!IsResumable)
            {
                Acknowledged(long.MaxValue);
            }

            lock (_lock)
            {
                _socket = socket;
            }
        }
        finally
        {
            _sending.Release();
        }
    }

    private Uri ResumeUri(Uri uri)
    {
        var builder = new UriBuilder(uri);
        var query = builder.Query.TrimStart('?');
        builder.Query = (query.Length > 0 ? query + "&" : "") + $"ows_resume={Uri.EscapeDataString(_token!)}&ows_seq={_lastSeq}";
        lock (_lock)
        {
            if (_positions.Count > 0)
            {
                // Each topic's cursor: the server reads what came after it from the topic's history.
                builder.Query += "&ows_pos=" + Uri.EscapeDataString(System.Text.Json.JsonSerializer.Serialize(_positions));
            }
        }
        return builder.Uri;
    }

    // A new peer: the old one's cursors mean nothing to it, and what it had not applied is numbered anew.
    private void ForgetPeer()
    {
        lock (_lock)
        {
            (_token, _lastSeq, _ackedSeq, _nextNumber, PeerId) = (null, 0, 0, 0, null);
            _positions.Clear();
            var pending = _unacked.ToArray();
            _unacked.Clear();
            foreach (var (_, frame, isText) in pending)
            {
                var payload = Payload(frame);
                _unacked.AddLast((++_nextNumber, Framed(_nextNumber, payload), isText));
            }
        }
    }

    private async Task Run(ClientWebSocket socket)
    {
        int? status = null;
        string? reason = null;
        try
        {
            while (true)
            {
                (status, reason) = await ReceiveLoop(socket);
                lock (_lock)
                {
                    _socket = null;
                }

                socket.Dispose();
                if (_closing || !Reconnects(status))
                {
                    return;
                }

                var next = await Reconnect(status);
                if (next is null)
                {
                    return;
                }

                socket = next;
                Opened?.Invoke(this, EventArgs.Empty);
            }
        }
        finally
        {
            _received.Writer.TryComplete();
            Closed?.Invoke(this, new ClosedEventArgs(status, reason));
        }
    }

    // A drop, a gateway that stops (1001, 1012) or sheds load (1013) is resumed; any other close ends the peer.
    private static bool Reconnects(int? status) => status is null or 1001 or 1006 or 1012 or 1013;

    private async Task<ClientWebSocket?> Reconnect(int? status)
    {
        var bound = _options.InitialBackoff;
        for (var attempt = 1; _options.MaxReconnectAttempts is not { } max || attempt <= max; attempt++)
        {
            var delay = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * bound.Ticks));
            Reconnecting?.Invoke(this, new ReconnectingEventArgs(attempt, delay, status));
            try
            {
                await Task.Delay(delay, _stopped.Token);
                return await Dial(_options.ReconnectUri?.Invoke(attempt) ?? _uri, resume: IsResumable && _token is not null, _stopped.Token);
            }
            catch (OperationCanceledException) when (_stopped.IsCancellationRequested)
            {
                return null;
            }
            catch (Exception ex) when (IsSocketFailure(ex))
            {
                bound = TimeSpan.FromTicks(Math.Min(_options.MaxBackoff.Ticks, (long)(bound.Ticks * _options.BackoffFactor)));
            }
        }

        return null;
    }
}
