using System.Security.Claims;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.AspNetCore.WebUtilities;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>
/// One mapped route: checks the request, asks the peer's grain whether to accept it (running
/// <c>OnUpgrade</c> and <c>OnOpen</c>), completes the handshake and hands the socket to its loop.
/// </summary>
internal sealed class WebSocketEndpoint(GatewayRuntime runtime, ILogger<WebSocketEndpoint> logger, string pattern, string handlerType)
{
    private const string NotWebSocketBody =
        "This is a WebSocket endpoint. Connect with a WebSocket client (an HTTP/1.1 GET with 'Connection: Upgrade' and 'Upgrade: websocket').\n";

    // Not async: a socket's whole life is one request, and the task of an async method here would be
    // one more frame kept per idle connection. The connection's RunAsync carries it from the connect on.
    public Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            Log.NotWebSocketRequest(logger, context.Request.Path);
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            context.Response.Headers.Upgrade = "websocket";
            context.Response.Headers.Connection = "Upgrade";
            return context.Response.WriteAsync(NotWebSocketBody, context.RequestAborted);
        }

        if (!IsOriginAllowed(context.Request, runtime.Options.AllowedOrigins, out var origin))
        {
            Log.OriginRejected(logger, context.Request.Path, origin!);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return context.Response.WriteAsync($"WebSocket connections from origin '{origin}' are not allowed.\n", context.RequestAborted);
        }

        var peerId = PeerIds.New(handlerType);
        var grain = runtime.Client.GetGrain<IPeerGrain>(PeerIds.ToGrainId(peerId));
        var connection = new WebSocketConnection(peerId, handlerType, grain, runtime);
        return connection.RunAsync(context, ToUpgradeRequest(context));
    }

    /// <summary>Answers an upgrade the handler rejected with the handler's response.</summary>
    internal static async Task Reject(HttpContext context, UpgradeDecision decision)
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

    private UpgradeRequest ToUpgradeRequest(HttpContext context)
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
    internal static bool IsOriginAllowed(HttpRequest request, IList<string> allowed, out string? origin)
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
