using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace OrleansWs.Gateway;

/// <summary>Gateway settings. Defaults are set here and nowhere else; every size is in bytes.</summary>
public sealed class WebSocketGatewayOptions
{
    /// <summary>Largest message a client may send; a larger one closes the peer with 1009. Default: 1 MiB.</summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxMessageSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Bytes that may wait in one peer's send queue. A peer that falls further behind is closed with
    /// <see cref="SlowPeerCloseCode"/> and its queued frames are dropped. Default: 4 MiB.
    /// </summary>
    [Range(1024, 1024L * 1024 * 1024)]
    public long MaxSendQueueBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Close code for a peer whose send queue overflowed: 1008 or 1013. Default: 1013 (try again later).</summary>
    [Range(1008, 1013)]
    public int SlowPeerCloseCode { get; set; } = CloseCodes.TryAgainLater;

    /// <summary>Messages read from one socket that may wait for its grain; the socket is not read while full. Default: 1,024.</summary>
    [Range(1, 1_000_000)]
    public int MaxInboundQueue { get; set; } = 1024;

    /// <summary>
    /// Bytes read from one socket that may wait for its grain; the socket is not read while over it
    /// (one message always fits). Default: 4 MiB.
    /// </summary>
    [Range(1024, 1024L * 1024 * 1024)]
    public long MaxInboundBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most bytes handed to a grain in one call (one message always goes). Default: 1 MiB.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxBatchBytes { get; set; } = 1024 * 1024;

    /// <summary>Most messages handed to a grain in one call (messages that arrived while the previous call ran). Default: 256.</summary>
    [Range(1, 100_000)]
    public int MaxBatch { get; set; } = 256;

    /// <summary>Size of the buffer a socket reads into; rented only while a message is being read. Default: 4 KiB.</summary>
    [Range(256, 1024 * 1024)]
    public int ReceiveBufferSize { get; set; } = 4 * 1024;

    /// <summary>How long the closing handshake may take before the connection is aborted. Default: 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Interval of server pings on idle connections; zero turns them off. Default: 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a ping may go unanswered before the connection is aborted (the peer gets OnClose 1006),
    /// so a client that vanished without a TCP reset is noticed. Default: 30 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Origins (scheme://host[:port]) allowed to open sockets from a browser, besides the gateway's own
    /// origin; "*" allows any. Requests without an Origin header (non-browser clients) are always allowed.
    /// A cross-site upgrade from another origin gets 403. Default: empty (same-origin only).
    /// </summary>
    public IList<string> AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Whether the gateway negotiates per-message compression (RFC 7692 <c>permessage-deflate</c>) with clients
    /// that offer it; the peer then reports it in <c>Peer.Extensions</c>. Off by default, as in crossws' node
    /// adapter: each compressed socket holds deflate state, and compressing costs CPU per message (see
    /// docs/performance.md for what it costs on echo).
    /// </summary>
    public bool EnableCompression { get; set; }

    /// <summary>
    /// With <see cref="EnableCompression"/>: the largest LZ77 window (2^bits bytes, 9–15) the server compresses
    /// with; smaller windows hold less memory per socket and compress less. Default: 15.
    /// </summary>
    [Range(9, 15)]
    public int CompressionWindowBits { get; set; } = 15;

    /// <summary>
    /// With <see cref="EnableCompression"/>: reset the server's compression context after every message
    /// (<c>server_no_context_takeover</c>), so an idle socket holds no compression window between messages, at
    /// the cost of compressing repeated content less well. Default: false.
    /// </summary>
    public bool CompressionNoContextTakeover { get; set; }

    /// <summary>
    /// The name of a header of the 101 that tells the client its peer id (e.g. <c>OrleansWs-Peer-Id</c>), for clients
    /// and tests that address the peer through <see cref="IWebSocketPeers"/>; <see langword="null"/> sends none.
    /// Default: none (the test kit's gateways send it).
    /// </summary>
    [RegularExpression("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")]
    public string? PeerIdHeader { get; set; }

    /// <summary>
    /// How long the gateway waits for a call to a peer's grain (a connect, a batch of messages, a close) before it takes
    /// the call as failed: the peer is closed with 1011, its later messages are dropped (both logged, with counts), and
    /// a close is asked again. The standalone gateway sets its Orleans client's response timeout to this. It must
    /// outlast the longest wait the runtime puts inside a call (16 s: a subscribe, and a publish's wait for its gateways),
    /// so only a hook that waits longer in total, or a silo that died mid-call, reaches it. Default: 20 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan GrainCallTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long this gateway's registration in the cluster lasts without renewal. Default: 15 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Validates <see cref="WebSocketGatewayOptions"/> at startup.</summary>
[OptionsValidator]
internal sealed partial class WebSocketGatewayOptionsValidator : IValidateOptions<WebSocketGatewayOptions>
{
}

/// <summary>Validates the timeouts of <see cref="WebSocketGatewayOptions"/> against the waits of the runtime they contain.</summary>
internal sealed class WebSocketGatewayTimeoutsValidator : IValidateOptions<WebSocketGatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, WebSocketGatewayOptions options) =>
        options.GrainCallTimeout <= Internal.RuntimeTimeouts.LongestCallWait
            ? ValidateOptionsResult.Fail(
                $"{nameof(WebSocketGatewayOptions.GrainCallTimeout)} ({options.GrainCallTimeout}) must be longer than the longest wait the runtime puts inside a call ({Internal.RuntimeTimeouts.LongestCallWait}: a subscribe, and a publish's wait for its gateways), or a subscribe in progress fails the whole call.")
            : ValidateOptionsResult.Success;
}
