using System.Security.Claims;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.AspNetCore.WebUtilities;
using OrleansWs.Protocol;

namespace OrleansWs.Gateway;

/// <summary>
/// One mapped route: checks the request, asks the peer's grain whether to accept it (running
/// <c>OnUpgrade</c> and <c>OnOpen</c>), completes the handshake and hands the socket to its loop.
/// </summary>
internal sealed class WebSocketEndpoint(GatewayRuntime runtime, ILogger<WebSocketEndpoint> logger, string pattern, string handlerType)
{
    private const string NotWebSocketBody =
        "This is a WebSocket endpoint. Connect with a WebSocket client (an HTTP/1.1 GET with 'Connection: Upgrade' and 'Upgrade: websocket').\n";

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            Log.NotWebSocketRequest(logger, context.Request.Path);
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            context.Response.Headers.Upgrade = "websocket";
            context.Response.Headers.Connection = "Upgrade";
            await context.Response.WriteAsync(NotWebSocketBody, context.RequestAborted);
            return;
        }

        if (!IsOriginAllowed(context.Request, runtime.Options.AllowedOrigins, out var origin))
        {
            Log.OriginRejected(logger, context.Request.Path, origin!);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsync($"WebSocket connections from origin '{origin}' are not allowed.\n", context.RequestAborted);
            return;
        }

        var peerId = PeerIds.New(handlerType);
        var grain = runtime.Client.GetGrain<IPeerGrain>(PeerIds.ToGrainId(peerId));
        var connection = new WebSocketConnection(peerId, handlerType, grain, runtime);
        // Registered before OnOpen runs, so whatever the cluster sends the peer meanwhile is queued.
        runtime.Register(connection);
        try
        {
            ConnectResult result;
            try
            {
                var request = new ConnectRequest(ToUpgradeRequest(context), runtime.Delivery, runtime.Id);
                result = await ClusterRetry.WhenRejected(() => grain.Connect(request), cancellationToken: context.RequestAborted);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.ConnectFailed(logger, ex, peerId);
                // The grain may have opened the peer after all (the call timed out, not failed): close it.
                _ = connection.TellGrainClosedBestEffort();
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                await context.Response.WriteAsync("The WebSocket service is unavailable; try again later.\n", context.RequestAborted);
                return;
            }

            if (!result.Decision.Accepted)
            {
                Log.UpgradeRejected(logger, peerId, result.Decision.Status);
                await Reject(context, result.Decision);
                return;
            }

            // This method's state lives as long as the socket: it must not keep the handshake's reply.
            var running = connection.RunAsync(context, result);
            result = null!;
            await running;
        }
        finally
        {
            runtime.Unregister(connection);
        }
    }

    private static async Task Reject(HttpContext context, UpgradeDecision decision)
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
