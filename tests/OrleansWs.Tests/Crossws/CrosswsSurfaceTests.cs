using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests.Crossws;

/// <summary>The recording handler's app, with a socket and a page on one route, mapped in both orders.</summary>
public sealed class SharedRouteFixture : AppFixture
{
    protected override void Configure(WebSocketTestAppOptions options)
    {
        var map = options.MapEndpoints!;
        options.MapEndpoints = e =>
        {
            map(e);
            e.MapWebSocketHandler<RecordingHandler>("/shared/socket-first");
            e.MapGet("/shared/socket-first", () => "page one");
            e.MapGet("/shared/page-first", () => "page two");
            e.MapWebSocketHandler<RecordingHandler>("/shared/page-first");
            // Order (MVC's conventional routes have 1 and more) does not make the socket take a page's requests.
            e.MapGet("/shared/ordered", () => "page three").WithOrder(5);
            e.MapWebSocketHandler<RecordingHandler>("/shared/ordered");
            e.MapPost("/ws/rec", () => "posted");
            // A more specific endpoint that takes any method and upgrades itself (as a SignalR hub does) keeps its upgrades.
            e.MapWebSocketHandler<RecordingHandler>("/hub/{**path}");
            e.Map("/hub/own", async context =>
            {
                if (context.WebSockets.IsWebSocketRequest)
                {
                    using var socket = await context.WebSockets.AcceptWebSocketAsync();
                    await socket.SendAsync("own socket"u8.ToArray(), WebSocketMessageType.Text, true, default);
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", default);
                    return;
                }

                await context.Response.WriteAsync("own page");
            });
            e.MapFallback(() => "fallback page");
        };
    }
}

/// <summary>The rest of crossws' surface: HTTP beside the socket, namespaces, the peer's websocket view, context, handshake rules.</summary>
public sealed class CrosswsSurfaceTests(SharedRouteFixture fixture) : IClassFixture<SharedRouteFixture>
{
    private readonly WebSocketTestApp _app = fixture.App;

    [Theory]
    [InlineData("/shared/socket-first", "page one")]
    [InlineData("/shared/page-first", "page two")]
    [InlineData("/shared/ordered", "page three")]
    public async Task A_socket_and_a_page_share_a_route_in_either_mapping_order(string path, string page)
    {
        using var plain = await _app.Probe(path, webSocket: false);
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal(page, await plain.Content.ReadAsStringAsync());

        await using var client = await _app.Connect(path);
        Assert.StartsWith("welcome ", await client.ReceiveText());
        await client.SendText("echo me");
        Assert.Equal("echo me", await client.ReceiveText());
    }

    [Fact]
    public async Task A_more_specific_route_that_takes_any_method_keeps_its_upgrades_and_a_fallback_takes_no_socket_route()
    {
        await using var own = await _app.Connect("/hub/own");
        Assert.Equal("own socket", await own.ReceiveText());
        using var ownPage = await _app.Probe("/hub/own", webSocket: false);
        Assert.Equal("own page", await ownPage.Content.ReadAsStringAsync());

        await using var handler = await _app.Connect("/hub/anything");
        Assert.StartsWith("welcome ", await handler.ReceiveText());

        using var plain = await _app.Probe("/hub/anything", webSocket: false);
        Assert.Equal(HttpStatusCode.UpgradeRequired, plain.StatusCode);
        using var unknown = await _app.Probe("/not/mapped", webSocket: false);
        Assert.Equal("fallback page", await unknown.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_HTTP2_extended_CONNECT_upgrade_is_accepted_on_a_route_shared_with_a_page()
    {
        var gateway = await _app.StartGatewayAsync(configureBuilder: b =>
            b.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2)));
        using var socket = new ClientWebSocket();
        socket.Options.HttpVersion = HttpVersion.Version20;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        using var cts = new CancellationTokenSource(_app.Timeout);
        await socket.ConnectAsync(new Uri(gateway.WebSocketAddress, "/shared/page-first"), invoker, cts.Token);
        await using var client = new TestClientOver(socket);
        Assert.StartsWith("welcome ", await client.ReceiveText(cts.Token));
        await socket.SendAsync("over h2"u8.ToArray(), WebSocketMessageType.Text, true, cts.Token);
        Assert.Equal("over h2", await client.ReceiveText(cts.Token));
    }

    [Fact]
    public async Task Another_method_on_a_socket_route_goes_to_its_endpoint_and_a_plain_get_still_gets_426()
    {
        using var post = new HttpClient();
        using var posted = await post.PostAsync(new Uri(_app.Gateways[0].HttpAddress, "/ws/rec"), new StringContent(""));
        Assert.Equal("posted", await posted.Content.ReadAsStringAsync());
        using var get = await _app.Probe("/ws/rec", webSocket: false);
        Assert.Equal(HttpStatusCode.UpgradeRequired, get.StatusCode);
    }

    [Fact]
    public async Task A_namespace_chosen_in_the_upgrade_hook_scopes_listing_and_publishing()
    {
        var ns = WebSocketTestApp.UniqueName("ns");
        var room = WebSocketTestApp.UniqueName("room");
        var (a, aId) = await _app.OpenRecording($"namespace={ns}&subscribe={room}", gateway: 0);
        var (b, bId) = await _app.OpenRecording($"namespace={ns}&subscribe={room}", gateway: 1);
        var (byPath, byPathId) = await _app.OpenRecording($"subscribe={room}", gateway: 1);

        Assert.Equal([aId, bId], await _app.Peers.GetPeers(ns));
        Assert.Contains(byPathId, await _app.Peers.GetPeers("/ws/rec"));
        Assert.DoesNotContain(aId, await _app.Peers.GetPeers("/ws/rec"));
        await a.SendText("info");
        Assert.Equal(ns, (await a.ReceiveJson<PeerInfo>()).Namespace);

        // A peer's publish stays in its namespace (and leaves the sender out).
        await a.SendText($"pub:{room}:in ns");
        Assert.Equal("published", await a.ReceiveText());
        Assert.Equal("in ns", await b.ReceiveText());

        // From anywhere: one namespace, or all of them.
        await _app.Peers.Publish(room, Message.FromText("path only"), "/ws/rec");
        Assert.Equal("path only", await byPath.ReceiveText());
        await _app.Peers.Publish(room, Message.FromText("all"));
        Assert.Equal("all", await a.ReceiveText());
        Assert.Equal("all", await b.ReceiveText());
        Assert.Equal("all", await byPath.ReceiveText());
        await byPath.ExpectNoMessage(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task The_context_may_change_in_any_hook_and_is_stored_with_the_peer()
    {
        var (client, peerId) = await _app.OpenRecording("tag=first");
        await client.SendText("ctx");
        Assert.Equal("ctx:dictionary first", await client.ReceiveText());

        await client.SendText("ctx:mutate:changed");
        Assert.Equal("ctx:dictionary changed", await client.ReceiveText());
        await _app.Deactivate(peerId);
        await client.SendText("ctx");
        Assert.Equal("ctx:dictionary changed", await client.ReceiveText());

        await client.SendText("ctx:record:typed");
        Assert.Equal("ctx:record typed", await client.ReceiveText());
        await _app.Deactivate(peerId);
        await client.SendText("ctx");
        Assert.Equal("ctx:record typed", await client.ReceiveText());
        // Stored in the Orleans serializer's format, whatever the storage's own serializer.
        var stored = (await _app.ReadPeerRecord<RecordingState>(peerId))!.Context!;
        var serializer = _app.Cluster.Client.ServiceProvider.GetRequiredService<Orleans.Serialization.Serializer>();
        Assert.Equal(new TagContext("typed"), serializer.Deserialize<object>(stored));
    }

    [Fact]
    public async Task Setting_a_context_Orleans_cannot_store_is_a_hook_error()
    {
        var (client, peerId) = await _app.OpenRecording();
        await client.SendText("ctx:bad:x");
        await client.ExpectClose(1011);
        var error = (Exception)(await HookLog.WaitFor(peerId, "error")).Argument!;
        Assert.Contains("cannot be serialized", error.Message);
    }

    [Fact]
    public async Task A_context_Orleans_cannot_store_is_refused_at_the_upgrade_with_500_and_a_log_line()
    {
        var mark = _app.Logs.Mark();
        using var refused = await _app.Probe("/ws/rec?badContext=1");
        Assert.Equal(HttpStatusCode.InternalServerError, refused.StatusCode);
        Assert.Contains("context", await refused.Content.ReadAsStringAsync());
        Assert.Contains(_app.Logs.ErrorsSince(mark), e => e.EventName == "ContextNotSerializable");
    }

    [Fact]
    public async Task The_ready_state_is_open_closing_after_a_close_and_closed_in_OnClose()
    {
        var (client, peerId) = await _app.OpenRecording();
        await client.SendText("state");
        await client.ExpectClose(1000);
        await HookLog.WaitFor(peerId + "/readyState", "close");
        Assert.Equal(
            [PeerReadyState.Open, PeerReadyState.Closing, PeerReadyState.Closed],
            HookLog.For(peerId + "/readyState").Select(e => (PeerReadyState)e.Argument!));
    }

    [Fact]
    public async Task Compression_is_negotiated_per_connection_when_on_and_reported_to_the_peer()
    {
        var gateway = await _app.StartGatewayAsync(g => g.EnableCompression = true);
        var deflate = new WebSocketDeflateOptions();

        var (compressed, _) = await _app.OpenRecording(gateway: gateway.Index, configure: o => o.DangerousDeflateOptions = deflate);
        Assert.StartsWith("permessage-deflate", compressed.HandshakeHeaders["Sec-WebSocket-Extensions"].Single());
        await compressed.SendText("info");
        Assert.Equal(["permessage-deflate"], (await compressed.ReceiveJson<PeerInfo>()).Extensions);
        var big = new string('x', 50_000);
        await compressed.SendText(big);
        Assert.Equal(big, await compressed.ReceiveText());

        var (plain, _) = await _app.OpenRecording(gateway: gateway.Index);
        Assert.False(plain.HandshakeHeaders.ContainsKey("Sec-WebSocket-Extensions"));
        await plain.SendText("info");
        Assert.Empty((await plain.ReceiveJson<PeerInfo>()).Extensions!);

        // Off (the default): an offer is declined.
        var (declined, _) = await _app.OpenRecording(gateway: 0, configure: o => o.DangerousDeflateOptions = deflate);
        Assert.False(declined.HandshakeHeaders.ContainsKey("Sec-WebSocket-Extensions"));
        await declined.SendText(big);
        Assert.Equal(big, await declined.ReceiveText());
    }

}

/// <summary>Reads text frames from a socket the test opened itself (an HTTP/2 one).</summary>
internal sealed class TestClientOver(ClientWebSocket socket) : IAsyncDisposable
{
    public async Task<string> ReceiveText(CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var result = await socket.ReceiveAsync(buffer, cancellationToken);
        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        return System.Text.Encoding.UTF8.GetString(buffer, 0, result.Count);
    }

    public ValueTask DisposeAsync()
    {
        socket.Abort();
        return ValueTask.CompletedTask;
    }
}
