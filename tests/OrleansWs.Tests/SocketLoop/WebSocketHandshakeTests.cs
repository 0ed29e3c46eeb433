using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using OrleansWs.Gateway;
using OrleansWs.Internal;

namespace OrleansWs.Tests.SocketLoop;

/// <summary>The HTTP answers of the handshake and what the handler sees of the request, without a server.</summary>
public sealed class WebSocketHandshakeTests
{
    private static DefaultHttpContext Context(string pathAndQuery = "/ws/chat")
    {
        var context = new DefaultHttpContext();
        var (path, query) = pathAndQuery.Split('?') is [var p, var q] ? (p, "?" + q) : (pathAndQuery, "");
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("gw.example:8080");
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static string Body(HttpContext context)
    {
        context.Response.Body.Position = 0;
        return new StreamReader(context.Response.Body).ReadToEnd();
    }

    [Fact]
    public async Task A_plain_request_gets_426_with_the_upgrade_headers_and_a_readable_body()
    {
        var context = Context();
        await WebSocketHandshake.NotWebSocket(context);
        Assert.Equal(426, context.Response.StatusCode);
        Assert.Equal("websocket", context.Response.Headers.Upgrade);
        Assert.Equal("Upgrade", context.Response.Headers.Connection);
        Assert.Contains("WebSocket endpoint", Body(context));
    }

    [Fact]
    public async Task A_rejection_answers_with_the_handlers_status_headers_and_text_body()
    {
        var context = Context();
        await WebSocketHandshake.Reject(context, new HandshakeAnswer(
            false, 401, "Log In First", [new("www-authenticate", "Bearer"), new("set-cookie", "a=1"), new("set-cookie", "b=2")], "log in first", null, ""));
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Equal("Log In First", context.Features.Get<IHttpResponseFeature>()!.ReasonPhrase);
        Assert.Equal("Bearer", context.Response.Headers.WWWAuthenticate);
        Assert.Equal(new[] { "a=1", "b=2" }, context.Response.Headers.SetCookie.ToArray());
        Assert.Equal("close", context.Response.Headers.Connection);
        Assert.Equal("text/plain; charset=utf-8", context.Response.ContentType);
        Assert.Equal("log in first", Body(context));
    }

    [Fact]
    public async Task Unavailable_and_a_foreign_origin_get_503_and_403()
    {
        var unavailable = Context();
        await WebSocketHandshake.Unavailable(unavailable);
        Assert.Equal(503, unavailable.Response.StatusCode);
        Assert.Contains("try again later", Body(unavailable));

        var forbidden = Context();
        await WebSocketHandshake.OriginForbidden(forbidden, "https://evil.example");
        Assert.Equal(403, forbidden.Response.StatusCode);
        Assert.Contains("https://evil.example", Body(forbidden));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("http://gw.example:8080", true)]
    [InlineData("https://gw.example:8080", false)]
    [InlineData("http://other.example", false)]
    [InlineData("http://allowed.example", true)]
    public void Origins_are_the_gateways_own_the_allowed_ones_or_none(string? origin, bool allowed)
    {
        var context = Context();
        if (origin is not null)
        {
            context.Request.Headers.Origin = origin;
        }

        Assert.Equal(allowed, WebSocketHandshake.IsOriginAllowed(context.Request, ["http://allowed.example/"], out var seen));
        Assert.Equal(origin, seen);
    }

    [Fact]
    public void The_handler_sees_lower_cased_headers_the_parsed_query_and_the_route()
    {
        var context = Context("/ws/chat?room=a&tag=x&tag=y&empty=");
        context.Request.Headers["X-Trace"] = "t1";
        context.Request.Headers.SecWebSocketProtocol = "chat.v2, chat.v1";
        context.Request.Headers.SecWebSocketExtensions = "permessage-deflate; client_max_window_bits";
        context.Connection.RemoteIpAddress = IPAddress.Parse("10.1.2.3");

        var request = WebSocketHandshake.ToUpgradeRequest(context, "/ws/{kind}");
        Assert.Equal("http://gw.example:8080/ws/chat?room=a&tag=x&tag=y&empty=", request.Url);
        Assert.Equal("/ws/chat", request.Path);
        Assert.Equal("a", request.Query["room"]);
        Assert.Equal(["x", "y"], request.Query.GetValues("tag"));
        Assert.Equal("", request.Query["empty"]);
        Assert.Equal("t1", request.Headers["x-trace"]);
        Assert.Equal(["chat.v2", "chat.v1"], request.RequestedProtocols);
        Assert.Equal(["permessage-deflate; client_max_window_bits"], request.RequestedExtensions);
        Assert.Equal("10.1.2.3", request.RemoteAddress);
        Assert.Null(request.User);
        Assert.Equal("/ws/{kind}", request.Endpoint);
    }

    [Fact]
    public async Task Accepting_sends_the_handlers_headers_and_sub_protocol_with_the_gateways_keep_alive()
    {
        var context = Context();
        var feature = new AcceptingFeature();
        context.Features.Set<IHttpWebSocketFeature>(feature);
        var options = new WebSocketGatewayOptions { KeepAliveInterval = TimeSpan.FromSeconds(7), KeepAliveTimeout = TimeSpan.FromSeconds(3), PeerIdHeader = "x-peer" };

        var socket = await WebSocketHandshake.Accept(
            context, new HandshakeAnswer(true, 101, null, [new("set-cookie", "s=1")], null, "chat.v2", "/ws"), options, compress: false, "chat/1");
        Assert.Equal("chat/1", context.Response.Headers["x-peer"]);
        Assert.Same(feature.Socket, socket);
        Assert.Equal("chat.v2", feature.Accepted!.SubProtocol);
        Assert.Equal(TimeSpan.FromSeconds(7), feature.Accepted.KeepAliveInterval);
        Assert.Equal(TimeSpan.FromSeconds(3), feature.Accepted.KeepAliveTimeout);
        Assert.Equal("s=1", context.Response.Headers.SetCookie);
    }

    private sealed class AcceptingFeature : IHttpWebSocketFeature
    {
        public FakeWebSocket Socket { get; } = new();

        public WebSocketAcceptContext? Accepted { get; private set; }

        public bool IsWebSocketRequest => true;

        public Task<WebSocket> AcceptAsync(WebSocketAcceptContext context)
        {
            Accepted = context;
            return Task.FromResult<WebSocket>(Socket);
        }
    }
}
