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
/// upgrade on one server, in whichever order they were mapped:
/// <list type="bullet">
/// <item>a request that is not an upgrade leaves the WebSocket endpoint to another endpoint that matches it at least
/// as specifically (same route or a more specific one; a fallback does not count), and gets 426 only when none does;</item>
/// <item>an upgrade goes to the WebSocket endpoint rather than to a page: an endpoint limited to HTTP methods (a
/// <c>MapGet</c>), or one whose route is no more specific. An endpoint of a more specific route that takes any method
/// (a SignalR hub, a proxy route) keeps its upgrades, as routing decides without this policy.</item>
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
        // The best (lowest) route score among the valid candidates of each kind.
        int webSocket = int.MaxValue, other = int.MaxValue;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i))
            {
                ref var best = ref IsWebSocket(candidates[i].Endpoint) ? ref webSocket : ref other;
                best = Math.Min(best, candidates[i].Score);
            }
        }

        if (webSocket == int.MaxValue || other == int.MaxValue)
        {
            return Task.CompletedTask;
        }

        var upgrade = IsUpgrade(httpContext);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!candidates.IsValidCandidate(i))
            {
                continue;
            }

            var candidate = candidates[i];
            var drop = IsWebSocket(candidate.Endpoint)
                ? !upgrade && other <= candidate.Score
                : upgrade && (candidate.Score >= webSocket || candidate.Endpoint.Metadata.GetMetadata<IHttpMethodMetadata>() is { HttpMethods.Count: > 0 });
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
