using System.Net.WebSockets;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.AspNetCore.WebUtilities;

namespace OrleansWs.Gateway;

/// <summary>
/// The HTTP side of a WebSocket handshake, in one place: what the handler sees of the request, every
/// answer that is not a WebSocket (426, 403, 503, the handler's rejection) and the 101 that accepts.
/// </summary>
internal static class WebSocketHandshake
{
    private const string NotWebSocketBody =
        "This is a WebSocket endpoint. Connect with a WebSocket client (an HTTP/1.1 GET with 'Connection: Upgrade' and 'Upgrade: websocket').\n";

    /// <summary>426 with a readable body: a plain HTTP request reached a WebSocket route.</summary>
    public static Task NotWebSocket(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
        context.Response.Headers.Upgrade = "websocket";
        context.Response.Headers.Connection = "Upgrade";
        return context.Response.WriteAsync(NotWebSocketBody, context.RequestAborted);
    }

    /// <summary>403: a browser page from <paramref name="origin"/> may not open this socket.</summary>
    public static Task OriginForbidden(HttpContext context, string origin)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return context.Response.WriteAsync($"WebSocket connections from origin '{origin}' are not allowed.\n", context.RequestAborted);
    }

    /// <summary>503: the cluster could not take the peer (its grain call failed); the client may try again.</summary>
    public static Task Unavailable(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        return context.Response.WriteAsync("The WebSocket service is unavailable; try again later.\n", context.RequestAborted);
    }

    /// <summary>The handler's rejection: its status, headers and body.</summary>
    public static async Task Reject(HttpContext context, UpgradeDecision decision)
    {
        context.Response.StatusCode = decision.Status;
        foreach (var (name, value) in decision.Headers)
        {
            context.Response.Headers.Append(name, value);
        }

        if (decision.Body is { } body)
        {
            if (string.IsNullOrEmpty(context.Response.ContentType))
            {
                context.Response.ContentType = "text/plain; charset=utf-8";
            }

            await context.Response.WriteAsync(body, context.RequestAborted);
        }
    }

    /// <summary>The 101: the handler's response headers and chosen sub-protocol, with the gateway's keep-alive.</summary>
    public static Task<WebSocket> Accept(HttpContext context, UpgradeDecision decision, WebSocketGatewayOptions options)
    {
        foreach (var (name, value) in decision.Headers)
        {
            context.Response.Headers.Append(name, value);
        }

        return context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            SubProtocol = decision.Protocol,
            KeepAliveInterval = options.KeepAliveInterval,
            KeepAliveTimeout = options.KeepAliveTimeout,
        });
    }

    /// <summary>What the handler's <c>OnUpgrade</c> sees of <paramref name="context"/>'s request, for the route <paramref name="pattern"/>.</summary>
    public static UpgradeRequest ToUpgradeRequest(HttpContext context, string pattern)
    {
        var request = context.Request;
        return new UpgradeRequest
        {
            Url = request.GetEncodedUrl(),
            Path = request.Path.Value ?? "/",
            // Parsed here rather than through request.Query, which would keep the parsed query on the
            // request for the socket's lifetime.
            Query = new ValueMap(QueryHelpers.ParseQuery(request.QueryString.Value).Select(q => KeyValuePair.Create(q.Key, q.Value.Select(v => v ?? "").ToArray()))),
            Headers = new ValueMap(request.Headers.Select(h => KeyValuePair.Create(h.Key.ToLowerInvariant(), h.Value.Select(v => v ?? "").ToArray()))),
            RemoteAddress = context.Connection.RemoteIpAddress?.ToString(),
            RequestedProtocols = context.WebSockets.WebSocketRequestedProtocols.ToArray(),
            RequestedExtensions = request.Headers.SecWebSocketExtensions
                .SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .ToArray(),
            // Read from the feature: HttpContext.User would create (and keep) an anonymous principal.
            User = ToPeerUser(context.Features.Get<IHttpAuthenticationFeature>()?.User),
            Endpoint = pattern,
        };
    }

    private static PeerUser? ToPeerUser(ClaimsPrincipal? user) =>
        user is { Identity: { IsAuthenticated: true } identity }
            ? new PeerUser(identity.Name, identity.AuthenticationType, user.Claims.Select(c => new PeerClaim(c.Type, c.Value)).ToArray())
            : null;

    // Browsers send Origin on every WebSocket handshake and let any page open a socket to any
    // server, so without this check any site could ride the user's cookies (cross-site WebSocket hijacking).
    public static bool IsOriginAllowed(HttpRequest request, IList<string> allowed, out string? origin)
    {
        string? sent = request.Headers.Origin;
        origin = sent;
        if (string.IsNullOrEmpty(sent))
        {
            return true;
        }

        if (allowed.Contains("*") || allowed.Any(a => string.Equals(a.TrimEnd('/'), sent, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        return Uri.TryCreate(sent, UriKind.Absolute, out var uri)
            && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)
            && string.Equals(uri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase);
    }
}
