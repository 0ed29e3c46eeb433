using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>
/// One mapped route: refuses what cannot become a WebSocket (400, 426, 403), then hands the request to a
/// new <see cref="WebSocketConnection"/>, whose grain decides the rest.
/// </summary>
internal sealed class WebSocketEndpoint(GatewayRuntime runtime, ILogger<WebSocketEndpoint> logger, string pattern, string handlerType)
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

        var peerId = PeerIds.New(handlerType);
        var grain = runtime.Client.GetGrain<IPeerGrain>(PeerIds.ToGrainId(peerId));
        var connection = new WebSocketConnection(peerId, handlerType, grain, runtime);
        return connection.RunAsync(context, WebSocketHandshake.ToUpgradeRequest(context, pattern));
    }
}
