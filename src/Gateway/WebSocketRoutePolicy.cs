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
/// upgrade on one server, in whichever order they were mapped. Routes are weighed by how specific their patterns
/// are (route precedence), not by <c>Order</c>:
/// <list type="bullet">
/// <item>a request that is not an upgrade leaves the WebSocket endpoint to another endpoint whose route is at least as
/// specific (a fallback does not count), and gets 426 only when there is none;</item>
/// <item>an upgrade goes to the WebSocket endpoint rather than to an endpoint limited to HTTP methods (a <c>MapGet</c>
/// page) or one whose route is no more specific. An endpoint of a more specific route that takes any method (a
/// SignalR hub, a proxy route) keeps its upgrades, as routing decides without this policy.</item>
/// </list>
/// </summary>
internal sealed class WebSocketRoutePolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    // After the built-in policies (HTTP method, host, content type), so only candidates they kept are weighed.
    public override int Order => 1000;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) =>
        endpoints.Any(e => e.Metadata.GetMetadata<WebSocketEndpointMetadata>() is not null);

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        // The most specific (lowest) route precedence among the valid candidates of each kind; fallbacks aside.
        decimal webSocket = decimal.MaxValue, other = decimal.MaxValue;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i) && candidates[i].Endpoint is RouteEndpoint { Order: < int.MaxValue } endpoint)
            {
                ref var best = ref IsWebSocket(endpoint) ? ref webSocket : ref other;
                best = Math.Min(best, endpoint.RoutePattern.InboundPrecedence);
            }
        }

        if (webSocket == decimal.MaxValue || other == decimal.MaxValue)
        {
            return Task.CompletedTask;
        }

        var upgrade = IsUpgrade(httpContext);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!candidates.IsValidCandidate(i) || candidates[i].Endpoint is not RouteEndpoint endpoint)
            {
                continue;
            }

            var precedence = endpoint.RoutePattern.InboundPrecedence;
            var drop = IsWebSocket(endpoint)
                ? !upgrade && other <= precedence
                : upgrade && (precedence >= webSocket || endpoint.Metadata.GetMetadata<IHttpMethodMetadata>() is { HttpMethods.Count: > 0 });
            if (drop)
            {
                candidates.SetValidity(i, false);
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
