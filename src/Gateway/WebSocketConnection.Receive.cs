using System.Buffers;
using System.Net.WebSockets;

namespace OrleansWs.Gateway;

// The receive side of the socket loop: whole messages into the inbound queue, and how the
// connection ended (client close, our close answered or not, protocol violation, dropped).
internal sealed partial class WebSocketConnection
{
    private async Task<CloseDetails> ReceiveLoop(WebSocket socket)
    {
        // The reads take no token: given one, the socket, the stream and the pipe under it would each
        // register on it for every pending read, which an idle socket always has. An abort (Terminate,
        // or a close the client does not answer) aborts the socket instead, and the read fails.
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                // Idle sockets hold no buffer: wait for the next frame with a zero-byte read.
                var next = await Receive(socket, Memory<byte>.Empty);
                if (next.MessageType == WebSocketMessageType.Close)
                {
                    return ClosedByClient(socket);
                }

                var length = 0;
                var tooBig = false;
                var last = next;
                buffer = ArrayPool<byte>.Shared.Rent(_options.ReceiveBufferSize);
                while (!last.EndOfMessage)
                {
                    if (length == buffer.Length)
                    {
                        if (tooBig || _close is { ByServer: true })
                        {
                            length = 0; // discarding: reuse the buffer
                        }
                        else
                        {
                            buffer = Grow(buffer, length);
                        }
                    }

                    last = await Receive(socket, buffer.AsMemory(length));
                    if (last.MessageType == WebSocketMessageType.Close)
                    {
                        return ClosedByClient(socket);
                    }

                    length += last.Count;
                    if (!tooBig && length > _options.MaxMessageSize)
                    {
                        tooBig = true;
                        Log.MessageTooBig(_logger, PeerId, _options.MaxMessageSize);
                        if (BeginClose(CloseCodes.MessageTooBig, $"message over {_options.MaxMessageSize} bytes"))
                        {
                            _socketError = true;
                        }
                    }
                }

                var message = tooBig ? null : new Message(buffer.AsSpan(0, length).ToArray(), next.MessageType == WebSocketMessageType.Text);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
                if (message is not null && _close is not { ByServer: true } && (_resume is null || Unframe(ref message)))
                {
                    await _inbound.Enqueue(message);
                }
            }
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            return Failed(socket, ex);
        }
        finally
        {
            _inbound.Start(); // what was read before the end still reaches the grain, ahead of OnClose
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    // A resumable client's frame: a message with its number (the next one, or one below it, sent again after a resume,
    // which is dropped), or an acknowledgement; anything else breaks the protocol (1002).
    private bool Unframe(ref Message message)
    {
        switch (ResumeFraming.Read(message, out var number, out var payload))
        {
            case ResumeFraming.ClientFrame.Data when number == _nextNumber:
                _nextNumber++;
                message = payload!;
                return true;
            case ResumeFraming.ClientFrame.Data when number < _nextNumber:
                return false;
            case ResumeFraming.ClientFrame.Ack:
                _ = _grain.Ack(_epoch, number);
                return false;
            default:
                Log.ResumeProtocolError(_logger, PeerId);
                if (BeginClose(CloseCodes.ProtocolError, "resume protocol error"))
                {
                    _socketError = true;
                }

                return false;
        }
    }

    // Frames that arrived together (a client pipelining) are read before any goes to the grain, so they
    // share one call: only a read that has to wait for the network starts the dispatch. (Starting it
    // on every message cost scaled echo ~25 % more CPU per message; yielding a thread first cost a
    // thread hand-over per call.)
    private ValueTask<ValueWebSocketReceiveResult> Receive(WebSocket socket, Memory<byte> buffer)
    {
        var read = socket.ReceiveAsync(buffer, CancellationToken.None);
        if (!read.IsCompleted)
        {
            _inbound.Start();
        }

        return read;
    }

    private byte[] Grow(byte[] buffer, int length)
    {
        var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, _options.MaxMessageSize + 1L));
        buffer.AsSpan(0, length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(buffer);
        return bigger;
    }

    private CloseDetails ClosedByClient(WebSocket socket)
    {
        var code = socket.CloseStatus is { } status ? (int)status : CloseCodes.NoStatus;
        var reason = socket.CloseStatusDescription ?? "";
        if (_close is { ByServer: true, Terminate: false } ours)
        {
            // The client answered our close: report what we closed with.
            return new CloseDetails(ours.Code, ours.Reason, WasClean: true);
        }

        // A close by the client ends a resumable peer too. Echo it, as RFC 6455 §5.5.1 asks.
        _endsPeer = true;
        RequestClose(new CloseRequest(code, reason, ByServer: false, DropQueued: false, Terminate: false));
        return new CloseDetails(code, reason, WasClean: true);
    }

    private CloseDetails Failed(WebSocket socket, Exception ex)
    {
        if (_close is { ByServer: true } ours)
        {
            // Our close was not answered in time, or we terminated on purpose.
            return new CloseDetails(ours.Terminate ? CloseCodes.Abnormal : ours.Code, ours.Terminate ? "" : ours.Reason, WasClean: false);
        }

        Log.SocketFailed(_logger, ex, PeerId, socket.State);
        if (ProtocolViolation(ex) is { } violation)
        {
            _socketError = true;
            return violation;
        }

        return Dropped;
    }

    internal static bool IsSocketFailure(Exception ex) =>
        ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException
            or Microsoft.AspNetCore.Connections.ConnectionAbortedException or Microsoft.AspNetCore.Http.BadHttpRequestException;
}
