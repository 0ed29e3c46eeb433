using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace OrleansWs.Client;

// The receive side: whole messages, the resume protocol's headers, the peer's frames in sequence, acknowledgements.
public sealed partial class ResumableWebSocket
{
    private async Task<(int? Status, string? Reason)> ReceiveLoop(ClientWebSocket socket)
    {
        try
        {
            while (await ReceiveFrame(socket, CancellationToken.None) is { } frame)
            {
                if (IsResumable)
                {
                    OnFrame(socket, frame);
                }
                else
                {
                    _received.Writer.TryWrite(new ReceivedMessage(frame.Data, frame.IsText));
                }
            }

            if (socket.State == WebSocketState.CloseReceived)
            {
                try
                {
                    await socket.CloseOutputAsync(socket.CloseStatus ?? WebSocketCloseStatus.Empty, null, CancellationToken.None);
                }
                catch (Exception ex) when (IsSocketFailure(ex))
                {
                }
            }

            return ((int?)socket.CloseStatus, socket.CloseStatusDescription);
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            return (null, null);
        }
    }

    private void OnFrame(ClientWebSocket socket, (byte[] Data, bool IsText) frame)
    {
        using var header = JsonDocument.Parse(Header(frame.Data, out var payload));
        var root = header.RootElement;
        if (root.TryGetProperty("op", out var op))
        {
            if (op.GetString() == "ack" && root.TryGetProperty("a", out var applied))
            {
                Acknowledged(applied.GetInt64());
            }
            else if (op.GetString() == "sub")
            {
                // The peer joined a topic: its cursor starts before the join, unless deliveries came first.
                var joined = root.GetProperty("t").GetString()!;
                var at = root.GetProperty("p").GetString()!;
                lock (_lock)
                {
                    if (!_positions.TryGetValue(joined, out var current) || CompareCursors(at, current) > 0)
                    {
                        _positions[joined] = at;
                    }
                }
            }

            return;
        }

        var data = frame.Data.AsMemory(payload);
        if (root.TryGetProperty("t", out var topic))
        {
            var name = topic.GetString()!;
            var index = root.TryGetProperty("i", out var i) ? i.GetInt32() : 0;
            lock (_lock)
            {
                // A topic's cursor: the entry's position and the message's place in it (docs/protocol.md).
                _positions[name] = $"{root.GetProperty("p").GetString()}.{index}";
            }

            _received.Writer.TryWrite(new ReceivedMessage(data, frame.IsText, name));
            return;
        }

        if (root.TryGetProperty("s", out var s))
        {
            var seq = s.GetInt64();
            bool due;
            lock (_lock)
            {
                if (seq <= _lastSeq)
                {
                    // Replayed after a resume, and seen already.
                    return;
                }

                _lastSeq = seq;
                due = _lastSeq - _ackedSeq >= _options.AckEvery;
            }

            _received.Writer.TryWrite(new ReceivedMessage(data, frame.IsText));
            if (due)
            {
                _ = SendAck(socket);
            }
            else
            {
                _ackTimer.Change(_options.AckInterval, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private Task SendAck() => _socket is { } socket ? SendAck(socket) : Task.CompletedTask;

    private async Task SendAck(ClientWebSocket socket)
    {
        long seq;
        lock (_lock)
        {
            if (_lastSeq <= _ackedSeq)
            {
                return;
            }

            (seq, _ackedSeq) = (_lastSeq, _lastSeq);
        }

        await _sending.WaitAsync();
        try
        {
            if (socket.State == WebSocketState.Open)
            {
                await socket.SendAsync(Encoding.ASCII.GetBytes($"{{\"op\":\"ack\",\"s\":{seq}}}"), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            }
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            // The resume presents the last sequence anyway.
        }
        finally
        {
            _sending.Release();
        }
    }

    // Orders two cursors ("P": all of entry P, "P.I": its messages up to the I-th).
    internal static int CompareCursors(string a, string b)
    {
        static (long Position, long Index) Parse(string cursor)
        {
            var dot = cursor.IndexOf('.');
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            return dot < 0 ? (long.Parse(cursor, inv), long.MaxValue) : (long.Parse(cursor.AsSpan(0, dot), inv), long.Parse(cursor.AsSpan(dot + 1), inv));
        }

        return Parse(a).CompareTo(Parse(b));
    }
}
