namespace OrleansWs;

/// <summary>
/// What the <c>upgrade</c> hook sees of the HTTP request that asks for a WebSocket, and what
/// a peer keeps of it. Everything a handler may need is copied; nothing refers back to the gateway.
/// </summary>
[GenerateSerializer, Immutable]
public sealed class UpgradeRequest
{
    /// <summary>
    /// The request URL with the http or https scheme, as crossws' <c>request.url</c>: the scheme and host,
    /// then the <see cref="RawTarget"/> exactly as the client sent it.
    /// </summary>
    [Id(0)] public required string Url { get; init; }

    /// <summary>The request path, decoded, e.g. <c>/ws/chat</c>. The peer's namespace unless the <c>upgrade</c> hook chooses one.</summary>
    [Id(1)] public required string Path { get; init; }

    /// <summary>The query string parameters.</summary>
    [Id(2)] public required ValueMap Query { get; init; }

    /// <summary>The request headers, names lower-cased.</summary>
    [Id(3)] public required ValueMap Headers { get; init; }

    /// <summary>The client's address as the gateway saw it (the load balancer's unless forwarded headers are processed).</summary>
    [Id(4)] public string? RemoteAddress { get; init; }

    /// <summary>The sub-protocols the client asked for (<c>Sec-WebSocket-Protocol</c>), in its order of preference.</summary>
    [Id(5)] public IReadOnlyList<string> RequestedProtocols { get; init; } = [];

    /// <summary>The extensions the client offered (<c>Sec-WebSocket-Extensions</c>).</summary>
    [Id(6)] public IReadOnlyList<string> RequestedExtensions { get; init; } = [];

    /// <summary>The authenticated user, or <see langword="null"/> when the request is anonymous.</summary>
    [Id(7)] public PeerUser? User { get; init; }

    /// <summary>The route pattern of the endpoint that took the request, e.g. <c>/ws/chat</c>.</summary>
    [Id(8)] public required string Endpoint { get; init; }

    /// <summary>
    /// The request target as received, path and query with their original encoding (e.g.
    /// <c>/ws/chat?room=caf%C3%A9</c>): what <see cref="Path"/> and <see cref="Query"/> were decoded from.
    /// </summary>
    [Id(9)] public string RawTarget { get; init; } = "";

    /// <summary>The URL with the ws or wss scheme: crossws' <c>peer.url</c>.</summary>
    public string WebSocketUrl => Url.StartsWith("https:", StringComparison.OrdinalIgnoreCase)
        ? "wss:" + Url["https:".Length..]
        : Url.StartsWith("http:", StringComparison.OrdinalIgnoreCase) ? "ws:" + Url["http:".Length..] : Url;
}
