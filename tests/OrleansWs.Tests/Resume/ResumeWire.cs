using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace OrleansWs.Tests.Resume;

/// <summary>
/// The resume protocol spoken by hand over a <see cref="ClientWebSocket"/> (docs/protocol.md), for tests that need to
/// control each frame: numbers, acknowledgements, a resend, an abort at an exact point.
/// </summary>
public sealed class ResumeWire : IAsyncDisposable
{
    private ResumeWire(ClientWebSocket socket, JsonElement welcome) => (Socket, Welcome) = (socket, welcome);

    public ClientWebSocket Socket { get; }

    /// <summary>The welcome frame's fields; default for a refused resume.</summary>
    public JsonElement Welcome { get; }

    public string PeerId => Welcome.GetProperty("peer").GetString()!;

    public string Token => Welcome.GetProperty("token").GetString()!;

    public bool Recovered => Welcome.GetProperty("recovered").GetBoolean();

    /// <summary>Connects; with <paramref name="token"/>, resumes from <paramref name="lastSeq"/>. A refused resume comes back with its close read.</summary>
    public static async Task<ResumeWire> Connect(Uri uri, string? token = null, long lastSeq = 0, string[]? protocols = null, string? positions = null)
    {
        var socket = new ClientWebSocket();
        foreach (var protocol in protocols ?? ["orleansws.v1"])
        {
            socket.Options.AddSubProtocol(protocol);
        }

        var target = token is null ? uri : new Uri(uri + (uri.Query.Length > 0 ? "&" : "?") + $"ows_resume={Uri.EscapeDataString(token)}&ows_seq={lastSeq}"
            + (positions is null ? "" : "&ows_pos=" + Uri.EscapeDataString(positions)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(target, timeout.Token);
        var first = await Receive(socket);
        if (first is null)
        {
            return new ResumeWire(socket, default);
        }

        Assert.Equal("welcome", first.Value.Header.GetProperty("op").GetString());
        return new ResumeWire(socket, first.Value.Header);
    }

    public Task Send(long number, string text) =>
        Socket.SendAsync(Encoding.UTF8.GetBytes($"{{\"s\":{number}}}\n{text}"), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendRaw(string frame) => Socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task Ack(long seq) => SendRaw($"{{\"op\":\"ack\",\"s\":{seq}}}");

    /// <summary>The next frame (its header and payload), or null when the server closed.</summary>
    public Task<(JsonElement Header, string Payload)?> Receive() => Receive(Socket);

    /// <summary>The next data frame's header and payload, skipping acknowledgements.</summary>
    public async Task<(JsonElement Header, string Payload)> ReceiveData()
    {
        while (true)
        {
            var frame = await Receive() ?? throw new InvalidOperationException($"Closed: {Socket.CloseStatus} {Socket.CloseStatusDescription}");
            if (!frame.Header.TryGetProperty("op", out _))
            {
                return frame;
            }
        }
    }

    /// <summary>Reads until the server closes and returns its close code.</summary>
    public async Task<int?> ReceiveClose()
    {
        while (await Receive() is not null)
        {
        }

        return (int?)Socket.CloseStatus;
    }

    private static async Task<(JsonElement Header, string Payload)?> Receive(ClientWebSocket socket)
    {
        var buffer = new byte[1 << 16];
        var length = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                var text = Encoding.UTF8.GetString(buffer, 0, length);
                var newline = text.IndexOf('\n');
                var header = JsonDocument.Parse(newline < 0 ? text : text[..newline]).RootElement.Clone();
                return (header, newline < 0 ? "" : text[(newline + 1)..]);
            }
        }
    }

    /// <summary>Drops the connection as a network would (no close frame), and waits until its peer is detached.</summary>
    public async Task<(string PeerId, string Token, long Seen)> Drop(long seen)
    {
        await DisposeAsync();
        await Handlers.HookLog.WaitFor(PeerId, "detach");
        return (PeerId, Token, seen);
    }

    public async ValueTask DisposeAsync()
    {
        Socket.Abort();
        Socket.Dispose();
        await Task.CompletedTask;
    }
}
