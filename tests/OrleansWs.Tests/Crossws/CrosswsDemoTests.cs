using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Testing;

namespace OrleansWs.Tests.Crossws;

/// <summary>
/// One cluster, two gateways, serving crossws' demo as its users know it: a page, <c>/peers</c> and
/// <c>/publish</c> over HTTP, and the WebSocket upgrade on the same paths and port.
/// </summary>
public sealed class CrosswsDemoFixture : IAsyncLifetime
{
    public const string Page = "<!doctype html><title>crossws demo</title>\n";

    public WebSocketTestApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await WebSocketTestApp.StartAsync(o =>
    {
        o.Gateways = 2;
        o.ConfigureGatewayOptions = g => g.CloseTimeout = TimeSpan.FromSeconds(1);
        o.MapEndpoints = e =>
        {
            // The page is mapped before the socket and /peers after it: the order does not matter.
            e.MapGet("/", () => Results.Content(Page, "text/html"));
            e.MapWebSocketHandler<CrosswsDemoHandler>("/{**path}");
            e.MapGet("/peers", async (IWebSocketPeers peers, string? @namespace) =>
                Results.Json(new { peers = await peers.GetPeers(@namespace ?? "/") }));
            e.MapGet("/publish", async (IWebSocketPeers peers, string? topic, string? message, string? @namespace) =>
            {
                var published = Message.FromText(message ?? "");
                await (@namespace is null ? peers.Publish(topic ?? "", published) : peers.Publish(topic ?? "", published, @namespace));
                return Results.Text("published");
            });
        };
    });

    public Task DisposeAsync() => App.DisposeAsync().AsTask();
}

public sealed class CrosswsDemoTests(CrosswsDemoFixture fixture) : IClassFixture<CrosswsDemoFixture>, IAsyncLifetime
{
    private readonly WebSocketTestApp _app = fixture.App;
    private readonly List<TestClient> _clients = [];

    public Task InitializeAsync() => Task.CompletedTask;

    // A test's peers leave with it: a later test's publish to every namespace reaches no one else.
    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }
    }

    // Connects, reads the welcome and takes the peer's id from it; the join notices of others are read by the caller.
    private async Task<(TestClient Client, string Id)> Join(string path = "/", int gateway = 0, Action<ClientWebSocketOptions>? configure = null)
    {
        var client = await _app.Connect(path, gateway, configure);
        _clients.Add(client);
        var welcome = await client.ReceiveText();
        Assert.StartsWith("Welcome to the server ", welcome);
        Assert.EndsWith("!", welcome);
        return (client, welcome["Welcome to the server ".Length..^1]);
    }

    // Two peers of one room on the two gateways; the first hears the second join.
    private async Task<(TestClient A, string AId, TestClient B, string BId)> JoinTwo(string room)
    {
        var (a, aId) = await Join(room, gateway: 0);
        var (b, bId) = await Join(room, gateway: 1);
        Assert.Equal($"{bId} joined!", await a.ReceiveText());
        return (a, aId, b, bId);
    }

    private async Task<string> Get(string pathAndQuery, int gateway = 0)
    {
        using var response = await _app.Probe(pathAndQuery, gateway, webSocket: false);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private async Task<string[]> HttpPeers(string? @namespace = null) =>
        JsonDocument.Parse(await Get("/peers" + (@namespace is null ? "" : "?namespace=" + Uri.EscapeDataString(@namespace))))
            .RootElement.GetProperty("peers").EnumerateArray().Select(p => p.GetString()!).ToArray();

    [Fact]
    public async Task The_page_the_peer_list_and_publish_are_plain_http_on_the_sockets_paths()
    {
        Assert.Equal(CrosswsDemoFixture.Page, await Get("/"));
        using var page = await _app.Probe("/", webSocket: false);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);

        var room = "/" + WebSocketTestApp.UniqueName("room");
        var (a, aId, b, bId) = await JoinTwo(room);
        Assert.Equal([aId, bId], await HttpPeers(room));

        Assert.Equal("published", await Get("/publish?topic=chat&message=" + Uri.EscapeDataString("from http"), gateway: 1));
        Assert.Equal("from http", await a.ReceiveText());
        Assert.Equal("from http", await b.ReceiveText());

        // The same paths still upgrade: a socket on /peers is a peer of namespace /peers.
        var (onPeersPath, _) = await Join("/peers");
        await onPeersPath.SendText("ping");
        Assert.Equal("pong", await onPeersPath.ReceiveText());

        // A plain request that only the socket's route matches is told to upgrade.
        using var plain = await _app.Probe("/nothing-else-here", webSocket: false);
        Assert.Equal(HttpStatusCode.UpgradeRequired, plain.StatusCode);
        Assert.Contains("WebSocket endpoint", await plain.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_peer_is_welcomed_first_and_the_room_hears_it_joined_but_it_does_not()
    {
        var room = "/" + WebSocketTestApp.UniqueName("room");
        var (_, _, b, _) = await JoinTwo(room);
        await b.SendText("ping");
        Assert.Equal("pong", await b.ReceiveText());
    }

    [Fact]
    public async Task Ping_binary_and_wait_for_drain_answer_as_crossws_does()
    {
        var (a, _) = await Join("/" + WebSocketTestApp.UniqueName("room"));
        await a.SendText("ping");
        Assert.Equal("pong", await a.ReceiveText());

        await a.SendText("binary");
        var binary = await a.Receive();
        Assert.False(binary.IsText);
        Assert.Equal("binary message works!", binary.Text);

        await a.SendText("waitForDrain");
        Assert.Equal("drained", await a.ReceiveText());

        // The demo reads every message with Text(): a binary frame that is not UTF-8 decodes as crossws' TextDecoder does.
        await a.SendBinary([0x68, 0xFF, 0x69]);
        Assert.Equal("h\uFFFDi", await a.ReceiveText());
    }

    [Fact]
    public async Task Anything_else_is_echoed_to_the_sender_and_published_to_the_rest_of_its_namespace()
    {
        var room = "/" + WebSocketTestApp.UniqueName("room");
        var (a, _, b, _) = await JoinTwo(room);
        var (elsewhere, _) = await Join(room + "-other", gateway: 0);

        await a.SendText("hello");
        Assert.Equal("hello", await a.ReceiveText());
        Assert.Equal("hello", await b.ReceiveText());
        await a.ExpectNoMessage(TimeSpan.FromMilliseconds(200));

        // Same topic, other namespace: crossws' peer.publish stays in its namespace.
        await elsewhere.SendText("ping");
        Assert.Equal("pong", await elsewhere.ReceiveText());
    }

    [Fact]
    public async Task Peers_lists_the_open_peers_of_the_namespace_on_every_gateway()
    {
        var room = "/" + WebSocketTestApp.UniqueName("room");
        var (a, aId, b, bId) = await JoinTwo(room);
        var (other, otherId) = await Join(room + "/x", gateway: 1);

        await a.SendText("peers");
        Assert.Equal([aId, bId], Ids(await a.ReceiveText()));
        await other.SendText("peers");
        Assert.Equal([otherId], Ids(await other.ReceiveText()));

        await b.Close();
        await Eventually(async () => (await HttpPeers(room)).SequenceEqual([aId]));
        await a.SendText("peers");
        Assert.Equal([aId], Ids(await a.ReceiveText()));

        static string[] Ids(string json) =>
            JsonDocument.Parse(json).RootElement.GetProperty("peers").EnumerateArray().Select(p => p.GetString()!).ToArray();
    }

    [Fact]
    public async Task Publishing_from_anywhere_reaches_every_namespace_or_the_one_named()
    {
        var topicRoom = "/" + WebSocketTestApp.UniqueName("room");
        var (a, _) = await Join(topicRoom, gateway: 0);
        var (b, _) = await Join(topicRoom + "-b", gateway: 1);

        Assert.Equal("published", await Get("/publish?topic=chat&message=everyone"));
        Assert.Equal("everyone", await a.ReceiveText());
        Assert.Equal("everyone", await b.ReceiveText());

        Assert.Equal("published", await Get($"/publish?topic=chat&message=only-b&namespace={Uri.EscapeDataString(topicRoom + "-b")}"));
        Assert.Equal("only-b", await b.ReceiveText());
        await a.SendText("ping");
        Assert.Equal("pong", await a.ReceiveText()); // nothing for a came first
    }

    [Fact]
    public async Task Debug_shows_the_request_as_received_the_context_and_the_websocket_view()
    {
        var room = "/" + WebSocketTestApp.UniqueName("room");
        var target = room + "?name=caf%C3%A9&path=a%2Fb&plus=a+b";
        var (a, aId) = await Join(target, configure: o => o.AddSubProtocol("demo.v1"));
        await a.SendText("debug");
        var debug = JsonDocument.Parse(await a.ReceiveText()).RootElement;

        Assert.Equal(aId, debug.GetProperty("id").GetString());
        Assert.Equal("127.0.0.1", debug.GetProperty("remoteAddress").GetString());
        Assert.Equal(room, debug.GetProperty("namespace").GetString());
        Assert.Equal("1", debug.GetProperty("context").GetProperty("test").GetString());
        var request = debug.GetProperty("request");
        Assert.Equal(new Uri(_app.Gateways[0].HttpAddress, "/").ToString().TrimEnd('/') + target, request.GetProperty("url").GetString());
        Assert.Equal("websocket", request.GetProperty("headers").GetProperty("upgrade").GetString());
        var websocket = debug.GetProperty("websocket");
        Assert.Equal(1, websocket.GetProperty("readyState").GetInt32());
        Assert.Equal(JsonValueKind.Null, websocket.GetProperty("protocol").ValueKind); // the demo chooses none
        Assert.Equal(0, websocket.GetProperty("extensions").GetArrayLength());
        Assert.StartsWith("ws://", websocket.GetProperty("url").GetString());
        Assert.EndsWith(target, websocket.GetProperty("url").GetString());
        Assert.Equal(0, websocket.GetProperty("bufferedAmount").GetInt64());
    }

    [Fact]
    public async Task The_upgrade_answers_with_repeated_headers_and_a_rejection_with_its_reason_then_closes()
    {
        var (a, _) = await Join("/" + WebSocketTestApp.UniqueName("room"));
        Assert.Equal(["cross-ws"], a.HandshakeHeaders["x-powered-by"]);
        Assert.Equal(["cross-ws=1; SameSite=None; Secure", "demo=2"], a.HandshakeHeaders["Set-Cookie"].SelectMany(v => v.Split(", ")));

        var (response, closed) = await RawHttp.Exchange(_app.Gateways[0].HttpAddress, RawHttp.Upgrade("/?unauthorized"), _app.Timeout);
        Assert.StartsWith("HTTP/1.1 401 Unauthorized\r\n", response);
        Assert.Contains("x-error: unauthorized\r\n", response, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("\r\n\r\nunauthorized", response);
        Assert.True(closed, "the gateway keeps a rejected upgrade's connection open");
    }

    private async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + _app.Timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }
}
