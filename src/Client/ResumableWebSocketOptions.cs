using System.Net.WebSockets;

namespace OrleansWs.Client;

/// <summary>How a <see cref="ResumableWebSocket"/> connects, reconnects and buffers.</summary>
public sealed class ResumableWebSocketOptions
{
    /// <summary>The application's own sub-protocols, in order of preference; each is offered inside the resume protocol (<c>orleansws.v1+chat</c>).</summary>
    public IList<string> SubProtocols { get; } = [];

    /// <summary>The first reconnect's longest wait (full jitter: each wait is random between zero and the bound). Default: 250 ms.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between reconnects. Default: 10 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How much the bound grows after each failed reconnect. Default: 2.</summary>
    public double BackoffFactor { get; set; } = 2;

    /// <summary>Failed reconnects in a row before the client gives up and closes; <see langword="null"/> (the default) for no limit.</summary>
    public int? MaxReconnectAttempts { get; set; }

    /// <summary>Messages sent and not yet acknowledged (buffered while reconnecting) that the client keeps; a send beyond them throws. Default: 1,024.</summary>
    public int MaxBufferedMessages { get; set; } = 1024;

    /// <summary>Their bytes. Default: 1 MiB.</summary>
    public long MaxBufferedBytes { get; set; } = 1 << 20;

    /// <summary>The client acknowledges the peer's frames after this many. Default: 32.</summary>
    public int AckEvery { get; set; } = 32;

    /// <summary>… or this long after the first one it has not acknowledged. Default: 200 ms.</summary>
    public TimeSpan AckInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long one connect (the handshake and the welcome) may take. Default: 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where each reconnect goes (its attempt number, from 1), e.g. the next of a list of gateways; <see langword="null"/>
    /// (the default): the URI connected to first, as behind a load balancer. A resume works through any gateway.
    /// </summary>
    public Func<int, Uri>? ReconnectUri { get; set; }

    /// <summary>Changes each <see cref="ClientWebSocket"/>'s options before it connects (headers, credentials, a proxy).</summary>
    public Action<ClientWebSocketOptions>? Configure { get; set; }
}
