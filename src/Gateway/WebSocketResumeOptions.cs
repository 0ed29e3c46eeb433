using System.ComponentModel.DataAnnotations;

namespace OrleansWs.Gateway;

/// <summary>
/// Resume for one endpoint (docs/protocol.md): a client that negotiates the <c>orleansws.v1</c> sub-protocol gets a peer
/// that outlives its socket for <see cref="Window"/>, its missed frames and its messages applied once. Clients that do
/// not ask keep plain WebSocket frames on the same route.
/// </summary>
/// <example>
/// <code>
/// app.MapWebSocketHandler&lt;ChatHandler&gt;("/ws/chat", o =&gt; o.Resume = new WebSocketResumeOptions { Window = TimeSpan.FromMinutes(5) });
/// </code>
/// </example>
public sealed class WebSocketResumeOptions
{
    /// <summary>How long a detached peer waits for its client before <c>OnClose</c> runs. Default: 2 minutes.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Unacknowledged frames of the peer's own kept for its client; beyond them the oldest are dropped (a resume then answers <c>recovered: false</c>). Default: 1,024.</summary>
    [Range(1, 1_000_000)]
    public int MaxOutboxFrames { get; set; } = 1024;

    /// <summary>Bytes of those frames. Default: 1 MiB.</summary>
    [Range(1, 1L << 34)]
    public long MaxOutboxBytes { get; set; } = 1 << 20;
}

/// <summary>One endpoint's options, given to <c>MapWebSocketHandler</c>.</summary>
public sealed class WebSocketEndpointOptions
{
    /// <summary>Resume for this endpoint's clients that ask for it; <see langword="null"/> (the default) for none.</summary>
    public WebSocketResumeOptions? Resume { get; set; }
}
