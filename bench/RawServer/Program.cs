using System.Collections.Concurrent;
using System.Net.WebSockets;

// The raw Kestrel baseline of the benchmark: /ws/echo and /ws/chat?room= with the same behaviour as
// OrleansWs' demo endpoints, written the way one would without OrleansWs (one loop per socket).
var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();
app.UseWebSockets();
var rooms = new ConcurrentDictionary<string, ConcurrentDictionary<WebSocket, SemaphoreSlim>>();

app.Map("/ws/echo", async context =>
{
    if (!context.WebSockets.IsWebSocketRequest)
    {
        context.Response.StatusCode = 426;
        return;
    }

    // Compression only when the client offers it (bench --deflate 1), as OrleansWs with EnableCompression.
    using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { DangerousEnableCompression = true });
    var buffer = new byte[4 * 1024];
    while (true)
    {
        var r = await socket.ReceiveAsync(buffer.AsMemory(), default);
        if (r.MessageType == WebSocketMessageType.Close)
        {
            // Answer the close so that the client's close handshake completes, as OrleansWs does.
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, default);
            break;
        }

        await socket.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, default);
    }
});

app.Map("/ws/chat", async context =>
{
    if (!context.WebSockets.IsWebSocketRequest || context.Request.Query["room"] is not [{ Length: > 0 } room])
    {
        context.Response.StatusCode = 400;
        return;
    }

    using var socket = await context.WebSockets.AcceptWebSocketAsync();
    var members = rooms.GetOrAdd(room, _ => new());
    members[socket] = new SemaphoreSlim(1);
    var buffer = new byte[4 * 1024];
    try
    {
        while (true)
        {
            var r = await socket.ReceiveAsync(buffer.AsMemory(), default);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                // Leave the room first, then answer the close under this socket's send gate.
                if (members.TryRemove(socket, out var own))
                {
                    await own.WaitAsync();
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, default);
                }

                break;
            }

            var message = buffer.AsSpan(0, r.Count).ToArray();
            foreach (var (other, gate) in members)
            {
                if (other != socket)
                {
                    await gate.WaitAsync();
                    try
                    {
                        await other.SendAsync(message, r.MessageType, true, default);
                    }
                    catch (WebSocketException)
                    {
                    }
                    finally
                    {
                        gate.Release();
                    }
                }
            }
        }
    }
    finally
    {
        members.TryRemove(socket, out _);
    }
});

app.Run();
