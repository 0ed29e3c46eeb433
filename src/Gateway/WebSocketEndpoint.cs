using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>
/// One mapped route: refuses what cannot become a WebSocket (400, 426, 403), then hands the request to a
/// new <see cref="WebSocketConnection"/>, whose grain decides the rest.
/// </summary>
internal sealed class WebSocketEndpoint(GatewayRuntime runtime, ILogger<WebSocketEndpoint> logger, string pattern, string handlerType, EndpointResume resume)
{
    // Not async: a socket's whole life is one request, and the task of an async method here would be
    // one more frame kept per idle connection. The connection's RunAsync carries it from the connect on.
    public Task HandleAsync(HttpContext context)
    {
        if (WebSocketHandshake.Check(context.Request) is { } fault)
        {
            Log.MalformedUpgrade(logger, context.Request.Path, fault.Message);
            return WebSocketHandshake.Malformed(context, fault);
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            Log.NotWebSocketRequest(logger, context.Request.Path);
            return WebSocketHandshake.NotWebSocket(context);
        }

        if (!WebSocketHandshake.IsOriginAllowed(context.Request, runtime.Options.AllowedOrigins, out var origin))
        {
            Log.OriginRejected(logger, context.Request.Path, origin!);
            return WebSocketHandshake.OriginForbidden(context, origin!);
        }

        var requested = context.WebSockets.WebSocketRequestedProtocols;
        if (resume.Settings is { } settings && ResumeFraming.Offered([.. requested], out var application))
        {
            // The handler sees the application protocols offered inside ours, and chooses among them.
            var request = WebSocketHandshake.ToUpgradeRequest(context, pattern, application);
            var (key, secret, lastSeq, cursors) = ResumeQuery(context);
            if (key is null)
            {
                return Run(PeerIds.New(handlerType), new ResumeMode(settings, null, 0));
            }

            // A token names a peer of this endpoint's handler only; one that names none is refused as any other.
            return Run(PeerIds.IsKey(key) ? $"{handlerType}/{key}" : PeerIds.New(handlerType), new ResumeMode(settings, PeerIds.IsKey(key) ? secret : "", lastSeq, cursors));

            Task Run(string peerId, ResumeMode mode) =>
                new WebSocketConnection(peerId, handlerType, runtime.Client.GetGrain<IPeerGrain>(PeerIds.ToGrainId(peerId)), runtime, mode).RunAsync(context, request);
        }

        var id = PeerIds.New(handlerType);
        var grain = runtime.Client.GetGrain<IPeerGrain>(PeerIds.ToGrainId(id));
        var connection = new WebSocketConnection(id, handlerType, grain, runtime);
        return connection.RunAsync(context, WebSocketHandshake.ToUpgradeRequest(context, pattern));
    }

    // ows_resume=KEY.SECRET&ows_seq=N&ows_pos={...} (docs/protocol.md); no token: a new peer.
    private static (string? Key, string Secret, long LastSeq, Dictionary<string, (long, int)>? Cursors) ResumeQuery(HttpContext context)
    {
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(context.Request.QueryString.Value);
        if (!query.TryGetValue("ows_resume", out var tokens) || tokens.Count != 1 || tokens[0] is not { } token)
        {
            return (null, "", 0, null);
        }

        var dot = token.IndexOf('.');
        var lastSeq = query.TryGetValue("ows_seq", out var seqs) && long.TryParse(seqs.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq) ? seq : 0;
        var cursors = ResumeFraming.Cursors(query.TryGetValue("ows_pos", out var pos) ? pos.ToString() : null);
        return dot <= 0 ? ("", "", lastSeq, cursors) : (token[..dot], token[(dot + 1)..], lastSeq, cursors);
    }
}
