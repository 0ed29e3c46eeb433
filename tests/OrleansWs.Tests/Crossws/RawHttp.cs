using System.Net.Sockets;
using System.Text;

namespace OrleansWs.Tests.Crossws;

/// <summary>HTTP written by hand on a TCP socket, for requests no client library would send.</summary>
public static class RawHttp
{
    /// <summary>A key RFC 6455 accepts: 16 bytes, base64.</summary>
    public const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    /// <summary>An upgrade request for <paramref name="target"/>, HTTP/1.1 unless told otherwise, with <paramref name="extra"/> header lines.</summary>
    public static string Upgrade(string target, string version = "HTTP/1.1", string? key = Key, params string[] extra) =>
        $"GET {target} {version}\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        + (key is null ? "" : $"Sec-WebSocket-Key: {key}\r\n")
        + string.Concat(extra.Select(h => h + "\r\n"))
        + "\r\n";

    /// <summary>Sends <paramref name="request"/> and returns the response's status line and headers, up to the blank line.</summary>
    public static async Task<string> Head(Uri server, string request, TimeSpan timeout)
    {
        using var tcp = await Send(server, request);
        var stream = tcp.GetStream();
        var received = new StringBuilder();
        var buffer = new byte[1];
        using var cts = new CancellationTokenSource(timeout);
        while (!received.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(buffer, cts.Token) == 0)
            {
                break;
            }

            received.Append((char)buffer[0]);
        }

        return received.ToString();
    }

    /// <summary>How many header lines named <paramref name="name"/> a response head has.</summary>
    public static int Count(string head, string name) =>
        head.Split("\r\n").Count(line => line.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Sends <paramref name="request"/> and reads until the server closes the connection. Returns what came
    /// back, and whether the server closed it (<see langword="false"/> when it was still open after <paramref name="timeout"/>).
    /// </summary>
    public static async Task<(string Response, bool ClosedByServer)> Exchange(Uri server, string request, TimeSpan timeout)
    {
        using var tcp = await Send(server, request);
        var stream = tcp.GetStream();
        var received = new MemoryStream();
        var buffer = new byte[8192];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, cts.Token);
                if (read == 0)
                {
                    return (Encoding.UTF8.GetString(received.ToArray()), true);
                }

                received.Write(buffer, 0, read);
            }
        }
        catch (OperationCanceledException)
        {
            return (Encoding.UTF8.GetString(received.ToArray()), false);
        }
    }

    private static async Task<TcpClient> Send(Uri server, string request)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(request));
        return tcp;
    }
}
