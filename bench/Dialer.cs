using System.Diagnostics;
using System.Net.WebSockets;

namespace OrleansWs.Bench;

/// <summary>Opens many connections with a fixed number of parallel dialers, showing progress; failures are counted.</summary>
internal static class Dialer
{
    /// <summary>A client socket; with <c>--deflate 1</c> it offers permessage-deflate (the server negotiates it if it has compression on).</summary>
    public static ClientWebSocket NewSocket(Arguments args)
    {
        var socket = new ClientWebSocket();
        if (args.Get("deflate", 0) == 1)
        {
            socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        }

        return socket;
    }

    public static async Task<(T?[] Opened, int Errors, TimeSpan Elapsed)> OpenAll<T>(string scenario, int count, int parallel, Func<int, Task<T>> open)
        where T : class
    {
        var opened = new T?[count];
        var next = -1;
        var errors = 0;
        var clock = Stopwatch.StartNew();
        var dialers = Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    opened[i] = await open(i);
                }
                catch (WebSocketException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }));
        await LiveProgress.Show(
            scenario,
            () => $"{Math.Min(count, Volatile.Read(ref next) + 1):N0} of {count:N0} dialed, {Volatile.Read(ref errors)} errors",
            dialers);
        return (opened, errors, clock.Elapsed);
    }

    /// <summary><paramref name="path"/> with <c>{i}</c> replaced by <paramref name="index"/>.</summary>
    public static string PathFor(string path, int index) =>
        path.Replace("{i}", index.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
}
