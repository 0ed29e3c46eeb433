using System.Net.WebSockets;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.AspNetCore.WebUtilities;
using OrleansWs.Internal;

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
        if (IsHttp1(context))
        {
            context.Response.Headers.Upgrade = "websocket";
            context.Response.Headers.Connection = "Upgrade";
        }

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

    /// <summary>
    /// The handler's rejection: its status, reason phrase, headers and body, then the connection closes (as
    /// crossws ends the socket): a client that asked for a WebSocket is not kept on a plain HTTP connection.
    /// </summary>
    public static async Task Reject(HttpContext context, HandshakeAnswer answer)
    {
        context.Response.StatusCode = answer.Status;
        if (answer.ReasonPhrase is { } phrase && context.Features.Get<IHttpResponseFeature>() is { } response)
        {
            response.ReasonPhrase = phrase;
        }

        AppendHeaders(context, answer.Headers);
        CloseAfterResponse(context);
        if (answer.Body is { } body)
        {
            if (string.IsNullOrEmpty(context.Response.ContentType))
            {
                context.Response.ContentType = "text/plain; charset=utf-8";
            }

            var bytes = System.Text.Encoding.UTF8.GetBytes(body);
            context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
        }
    }

    /// <summary>400 with a readable body: the request asked for a WebSocket but broke RFC 6455's handshake rules.</summary>
    public static Task Malformed(HttpContext context, HandshakeFault fault)
    {
        context.Response.StatusCode = fault.Status;
        if (fault.Status == StatusCodes.Status426UpgradeRequired)
        {
            context.Response.Headers.SecWebSocketVersion = SupportedVersion;
        }

        CloseAfterResponse(context);
        return context.Response.WriteAsync(fault.Message + "\n", context.RequestAborted);
    }

    /// <summary>The 101: the handler's response headers and chosen sub-protocol, with the gateway's keep-alive and compression.</summary>
    public static Task<WebSocket> Accept(HttpContext context, HandshakeAnswer answer, WebSocketGatewayOptions options, bool compress, string peerId)
    {
        AppendHeaders(context, answer.Headers);
        if (options.PeerIdHeader is { } header)
        {
            context.Response.Headers[header] = peerId;
        }

        return context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            SubProtocol = answer.Protocol,
            KeepAliveInterval = options.KeepAliveInterval,
            KeepAliveTimeout = options.KeepAliveTimeout,
            DangerousEnableCompression = compress,
            ServerMaxWindowBits = options.CompressionWindowBits,
            DisableServerContextTakeover = options.CompressionNoContextTakeover,
        });
    }

    private static void AppendHeaders(HttpContext context, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        // Append, not set: two set-cookie headers stay two header lines.
        foreach (var (name, value) in headers)
        {
            context.Response.Headers.Append(name, value);
        }
    }

    // Kestrel ends an HTTP/1.x connection after a response that says so. HTTP/2 and 3 have no such header (a
    // stream ends with its response anyway); Kestrel would remove it with a Warning per response.
    private static void CloseAfterResponse(HttpContext context)
    {
        if (IsHttp1(context))
        {
            context.Response.Headers.Connection = "close";
        }
    }

    private static bool IsHttp1(HttpContext context) =>
        HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol) || context.Request.Protocol.Length == 0;

    private const string SupportedVersion = "13";

    /// <summary>
    /// What is wrong with an HTTP/1.x request that asks for a WebSocket (<c>Upgrade: websocket</c>) but does not
    /// follow RFC 6455 §4.2.1, or <see langword="null"/> when nothing is. HTTP/2's extended CONNECT (RFC 8441)
    /// has no key and is left to ASP.NET Core.
    /// </summary>
    public static HandshakeFault? Check(HttpRequest request)
    {
        if (request.HttpContext.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true }
            || !HasToken(request.Headers.Upgrade, "websocket"))
        {
            return null;
        }

        if (!HttpProtocol.IsHttp11(request.Protocol))
        {
            return new(StatusCodes.Status400BadRequest, $"A WebSocket upgrade needs HTTP/1.1; this request is {request.Protocol}.");
        }

        if (!HttpMethods.IsGet(request.Method))
        {
            return new(StatusCodes.Status400BadRequest, $"A WebSocket upgrade is a GET request, not {request.Method}.");
        }

        if (!HasToken(request.Headers.Connection, "upgrade"))
        {
            return new(StatusCodes.Status400BadRequest, "A WebSocket upgrade needs the header 'Connection: Upgrade'.");
        }

        var key = request.Headers.SecWebSocketKey;
        if (key.Count == 0)
        {
            return new(StatusCodes.Status400BadRequest, "A WebSocket upgrade needs a Sec-WebSocket-Key header.");
        }

        if (key.Count > 1 || !IsNonce(key.ToString().Trim()))
        {
            return new(StatusCodes.Status400BadRequest, "Sec-WebSocket-Key must be one base64-encoded 16-byte value.");
        }

        var version = request.Headers.SecWebSocketVersion;
        if (version.Count == 0)
        {
            return new(StatusCodes.Status400BadRequest, "A WebSocket upgrade needs the header 'Sec-WebSocket-Version: 13'.");
        }

        if (version.Count > 1 || version.ToString().Trim() != SupportedVersion)
        {
            return new(StatusCodes.Status426UpgradeRequired, $"WebSocket version '{version}' is not supported; this server speaks version 13.");
        }

        return null;
    }

    // Exactly 24 base64 characters ending in "==" (16 bytes): Convert.TryFromBase64String also skips whitespace
    // inside, and the runtime would then answer with a wrong Sec-WebSocket-Accept, or throw on a long one.
    private static bool IsNonce(string key)
    {
        if (key.Length != 24 || !key.EndsWith("==", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in key.AsSpan(0, 22))
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not '+' and not '/')
            {
                return false;
            }
        }

        Span<byte> nonce = stackalloc byte[16];
        return Convert.TryFromBase64String(key, nonce, out var length) && length == 16;
    }

    /// <summary>Whether a comma-separated header (e.g. <c>Connection: keep-alive, Upgrade</c>) holds <paramref name="token"/>.</summary>
    public static bool HasToken(Microsoft.Extensions.Primitives.StringValues values, string token)
    {
        foreach (var value in values)
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries))
            {
                if (string.Equals(part, token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The extensions the gateway will negotiate if the peer is accepted, known before its grain runs <c>OnOpen</c>:
    /// <c>permessage-deflate</c> when compression is on and the client offered it with parameters RFC 7692 allows.
    /// </summary>
    public static IReadOnlyList<string> Extensions(HttpContext context, WebSocketGatewayOptions options) =>
        options.EnableCompression && OffersDeflate(context.Request.Headers.SecWebSocketExtensions) ? Deflate : [];

    private static readonly string[] Deflate = ["permessage-deflate"];

    private static bool OffersDeflate(Microsoft.Extensions.Primitives.StringValues offers)
    {
        foreach (var value in offers)
        {
            foreach (var offer in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                // Stricter than ASP.NET Core's parser (which skips unknown parameters), so that whatever passes
                // here it accepts too, and Peer.Extensions never names an extension the socket does not use.
                var parameters = offer.Split(';', StringSplitOptions.TrimEntries);
                var names = parameters.Skip(1).Select(p => p.Split('=')[0].Trim().ToLowerInvariant()).ToArray();
                if (string.Equals(parameters[0], "permessage-deflate", StringComparison.Ordinal)
                    && parameters.Skip(1).All(IsDeflateParameter)
                    && names.Distinct().Count() == names.Length)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool IsDeflateParameter(string parameter)
    {
        var (name, value) = parameter.IndexOf('=') is var eq and >= 0
            ? (parameter[..eq].Trim(), parameter[(eq + 1)..].Trim().Trim('"'))
            : (parameter, null);
        return name.ToLowerInvariant() switch
        {
            "client_no_context_takeover" or "server_no_context_takeover" => value is null,
            "client_max_window_bits" => value is null || IsWindowBits(value),
            "server_max_window_bits" => value is not null && IsWindowBits(value),
            _ => false,
        };

        static bool IsWindowBits(string value) => int.TryParse(value, out var bits) && bits is >= 9 and <= 15;
    }

    /// <summary>What the handler's <c>OnUpgrade</c> sees of <paramref name="context"/>'s request, for the route <paramref name="pattern"/>.</summary>
    public static UpgradeRequest ToUpgradeRequest(HttpContext context, string pattern, IReadOnlyList<string>? protocols = null)
    {
        var request = context.Request;
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        return new UpgradeRequest
        {
            // As received (crossws builds request.url the same way): rebuilt from the decoded parts, the
            // path and query could come back encoded otherwise.
            Url = rawTarget.StartsWith('/') ? $"{request.Scheme}://{request.Host.Value}{rawTarget}" : request.GetEncodedUrl(),
            RawTarget = rawTarget.StartsWith('/') ? rawTarget : request.GetEncodedPathAndQuery(),
            Path = request.Path.Value ?? "/",
            // Parsed here rather than through request.Query, which would keep the parsed query on the
            // request for the socket's lifetime.
            Query = new ValueMap(QueryHelpers.ParseQuery(request.QueryString.Value).Select(q => KeyValuePair.Create(q.Key, q.Value.Select(v => v ?? "").ToArray()))),
            Headers = new ValueMap(request.Headers.Select(h => KeyValuePair.Create(h.Key.ToLowerInvariant(), h.Value.Select(v => v ?? "").ToArray()))),
            RemoteAddress = context.Connection.RemoteIpAddress?.ToString(),
            RequestedProtocols = protocols ?? context.WebSockets.WebSocketRequestedProtocols.ToArray(),
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

/// <summary>Why a request that asked for a WebSocket is refused before it reaches a grain.</summary>
internal sealed record HandshakeFault(int Status, string Message);
