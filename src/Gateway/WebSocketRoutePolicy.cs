using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing.Matching;

namespace OrleansWs.Gateway;

/// <summary>Marks an endpoint that <c>MapWebSocketHandler</c> mapped.</summary>
internal sealed class WebSocketEndpointMetadata
{
    public static readonly WebSocketEndpointMetadata Instance = new();
}

/// <summary>
/// Lets a WebSocket route share its path with ordinary endpoints, as crossws serves a page, <c>/peers</c> and the
/// upgrade on one server: when a request matches both kinds, an upgrade goes to the WebSocket endpoint and
/// any other request to the others, in whichever order they were mapped. A plain request that matches only
/// the WebSocket endpoint still gets its 426.
/// </summary>
internal sealed class WebSocketRoutePolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    // After the built-in policies (HTTP method, host, content type), so only candidates they kept are weighed.
    public override int Order => 1000;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) =>
        endpoints.Any(e => e.Metadata.GetMetadata<WebSocketEndpointMetadata>() is not null);

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        bool webSocket = false, other = false;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i))
            {
                _ = IsWebSocket(candidates[i].Endpoint) ? webSocket = true : other = true;
            }
        }

        if (webSocket && other)
        {
            var upgrade = IsUpgrade(httpContext);
            for (var i = 0; i < candidates.Count; i++)
            {
                if (candidates.IsValidCandidate(i) && IsWebSocket(candidates[i].Endpoint) != upgrade)
                {
                    candidates.SetValidity(i, false);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Whether the request asks for a WebSocket, well formed or not: an HTTP/1.x request with
    /// <c>Upgrade: websocket</c> (the WebSocket endpoint answers a malformed one with 400) or an HTTP/2 extended
    /// CONNECT for the websocket protocol.
    /// </summary>
    public static bool IsUpgrade(HttpContext context)
    {
        if (context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
        {
            return string.Equals(connect.Protocol, "websocket", StringComparison.OrdinalIgnoreCase);
        }

        return WebSocketHandshake.HasToken(context.Request.Headers.Upgrade, "websocket");
    }

    private static bool IsWebSocket(Endpoint endpoint) => endpoint.Metadata.GetMetadata<WebSocketEndpointMetadata>() is not null;
}
