using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Testing;
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
            e.MapPost("/ws/rec", () => "posted");
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
        Assert.Equal(new TagContext("typed"), (await _app.ReadPeerRecord<RecordingState>(peerId))!.Context);
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

    [Theory]
    [InlineData("no key", null, "HTTP/1.1", "", 400, "Sec-WebSocket-Key")]
    [InlineData("short key", "c2hvcnQ=", "HTTP/1.1", "", 400, "16-byte")]
    [InlineData("not base64", "not a key at all!!!!!!==", "HTTP/1.1", "", 400, "16-byte")]
    [InlineData("HTTP/1.0", RawHttp.Key, "HTTP/1.0", "", 400, "HTTP/1.1")]
    [InlineData("version 8", RawHttp.Key, "HTTP/1.1", "Sec-WebSocket-Version: 8", 426, "version 13")]
    public async Task A_handshake_that_breaks_RFC_6455_gets_a_readable_4xx_and_the_connection_closes(
        string what, string? key, string version, string extra, int status, string says)
    {
        var request = RawHttp.Upgrade("/ws/echo", version, key, extra.Length > 0 ? [extra] : []);
        if (extra.StartsWith("Sec-WebSocket-Version", StringComparison.Ordinal))
        {
            request = request.Replace("Sec-WebSocket-Version: 13\r\n", "");
        }

        var (response, closed) = await RawHttp.Exchange(_app.Gateways[0].HttpAddress, request, _app.Timeout);
        Assert.True(response.StartsWith($"HTTP/1.1 {status} ", StringComparison.Ordinal), $"{what}: {response}");
        Assert.Contains(says, response);
        Assert.True(closed, what);
        if (status == 426)
        {
            Assert.Contains("Sec-WebSocket-Version: 13\r\n", response);
        }

        await using var client = await _app.Connect("/ws/echo");
        await client.SendText("still up");
        Assert.Equal("still up", await client.ReceiveText());
    }

    [Fact]
    public async Task A_frame_announcing_more_than_ever_comes_is_dropped_by_the_keep_alive()
    {
        var gateway = await _app.StartGatewayAsync(g =>
        {
            g.KeepAliveInterval = TimeSpan.FromMilliseconds(500);
            g.KeepAliveTimeout = TimeSpan.FromSeconds(1);
        });
        var tag = AppExtensions.NewTag();
        await using var raw = await _app.ConnectRaw($"/ws/rec?tag={tag}", gateway.Index);
        var peerId = ((UpgradeSeen)(await HookLog.WaitFor(tag, "upgrade")).Argument!).PeerId;
        // A masked binary frame of 2^62 bytes, then a handful of them: the runtime cannot see past the header.
        await raw.SendBytes([0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9]);
        var details = (CloseDetails)(await HookLog.WaitFor(peerId, "close", _app.Timeout)).Argument!;
        Assert.Equal(new CloseDetails(CloseCodes.Abnormal, "", WasClean: false), details);
    }
}
