using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace OrleansWs.Testing;

/// <summary>
/// A WebSocket client over a bare TCP socket that writes frames byte by byte, for what a correct
/// client cannot do: malformed frames, unmasked frames, never reading.
/// </summary>
public sealed class RawWebSocketClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly TimeSpan _timeout;
    private readonly System.IO.Pipelines.Pipe _received = new();
    private Task? _reading;

    private RawWebSocketClient(TcpClient tcp, TimeSpan timeout)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _timeout = timeout;
    }

    // Frames are read off the socket as soon as they arrive, so a server that closes hard right
    // after its close frame cannot make us lose that frame to a connection reset.
    private async Task ReadLoop()
    {
        var writer = _received.Writer;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(4096);
                var read = await _stream.ReadAsync(memory);
                if (read == 0)
                {
                    break;
                }

                writer.Advance(read);
                await writer.FlushAsync();
            }

            await writer.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            await writer.CompleteAsync(ex);
        }
    }

    /// <summary>Opens a WebSocket at <paramref name="uri"/> (ws scheme); throws unless the server answers 101.</summary>
    /// <param name="uri">The ws URL.</param>
    /// <param name="timeout">The default timeout of every wait.</param>
    /// <param name="receiveBufferSize">The socket's receive buffer; small with <paramref name="neverRead"/> to fill it fast.</param>
    /// <param name="neverRead">Read nothing after the handshake, as a stuck client would.</param>
    public static async Task<RawWebSocketClient> ConnectAsync(Uri uri, TimeSpan timeout, int receiveBufferSize = 0, bool neverRead = false)
    {
        var tcp = new TcpClient();
        if (receiveBufferSize > 0)
        {
            tcp.ReceiveBufferSize = receiveBufferSize;
        }

        using var cts = new CancellationTokenSource(timeout);
        await tcp.ConnectAsync(uri.Host, uri.Port, cts.Token);
        var client = new RawWebSocketClient(tcp, timeout);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = $"GET {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                      $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await client._stream.WriteAsync(Encoding.ASCII.GetBytes(request), cts.Token);
        var head = await client.ReadHead(cts.Token);
        if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            await client.DisposeAsync();
            throw new InvalidOperationException($"Expected 101 from {uri} but got: {head.Split("\r\n")[0]}");
        }

        if (!neverRead)
        {
            client._reading = client.ReadLoop();
        }

        return client;
    }

    /// <summary>Sends one frame: <paramref name="firstByte"/> holds FIN, RSV and the opcode; the payload is masked unless told otherwise.</summary>
    public async Task SendFrame(byte firstByte, byte[] payload, bool mask = true)
    {
        var frame = new List<byte> { firstByte };
        var maskBit = mask ? (byte)0x80 : (byte)0;
        if (payload.Length < 126)
        {
            frame.Add((byte)(maskBit | payload.Length));
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            frame.Add((byte)(maskBit | 126));
            frame.Add((byte)(payload.Length >> 8));
            frame.Add((byte)payload.Length);
        }
        else
        {
            frame.Add((byte)(maskBit | 127));
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(length, (ulong)payload.Length);
            frame.AddRange(length);
        }

        var key = mask ? RandomNumberGenerator.GetBytes(4) : [];
        frame.AddRange(key);
        for (var i = 0; i < payload.Length; i++)
        {
            frame.Add(mask ? (byte)(payload[i] ^ key[i % 4]) : payload[i]);
        }

        using var cts = new CancellationTokenSource(_timeout);
        await _stream.WriteAsync(frame.ToArray(), cts.Token);
    }

    /// <summary>Writes <paramref name="bytes"/> as they are: a frame header that announces more than follows, half a frame.</summary>
    public async Task SendBytes(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(_timeout);
        await _stream.WriteAsync(bytes, cts.Token);
    }

    /// <summary>Reads frames until a close frame and returns its code (1005 when it has none).</summary>
    public async Task<int> ExpectCloseCode()
    {
        using var cts = new CancellationTokenSource(_timeout);
        while (true)
        {
            var header = await ReadExactly(2, cts.Token);
            var opcode = header[0] & 0x0F;
            long length = header[1] & 0x7F;
            if (length == 126)
            {
                length = BinaryPrimitives.ReadUInt16BigEndian(await ReadExactly(2, cts.Token));
            }
            else if (length == 127)
            {
                length = (long)BinaryPrimitives.ReadUInt64BigEndian(await ReadExactly(8, cts.Token));
            }

            var payload = await ReadExactly((int)length, cts.Token);
            if (opcode == 0x8)
            {
                return payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : 1005;
            }
        }
    }

    /// <summary>Drops the connection without a close frame.</summary>
    public void Abort() => _tcp.Client.Close(0);

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<byte[]> ReadExactly(int count, CancellationToken token)
    {
        if (_reading is null)
        {
            throw new InvalidOperationException("This client was opened with neverRead.");
        }

        var reader = _received.Reader;
        while (true)
        {
            var result = await reader.ReadAtLeastAsync(count, token);
            if (result.Buffer.Length >= count)
            {
                var bytes = System.Buffers.BuffersExtensions.ToArray(result.Buffer.Slice(0, count));
                reader.AdvanceTo(result.Buffer.GetPosition(count));
                return bytes;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted)
            {
                throw new EndOfStreamException("The server closed the connection before a whole frame arrived.");
            }
        }
    }

    private async Task<string> ReadHead(CancellationToken token)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            await _stream.ReadExactlyAsync(one, token);
            head.Append((char)one[0]);
        }

        return head.ToString();
    }
}
