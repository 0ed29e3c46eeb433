using System.Net;
using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests.Crossws;

/// <summary>The HTTP side of an upgrade, written by hand: RFC 6455's handshake rules, the answers, and frames the runtime cannot see past.</summary>
public sealed class CrosswsHandshakeTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private readonly WebSocketTestApp _app = fixture.App;

    [Fact]
    public async Task A_rejection_sends_its_reason_phrase_and_repeated_headers_then_closes_and_an_accept_repeats_them_too()
    {
        var (rejected, closed) = await RawHttp.Exchange(
            _app.Gateways[0].HttpAddress, RawHttp.Upgrade("/ws/rec?reject=401&phrase=Token%20Expired"), _app.Timeout);
        Assert.StartsWith("HTTP/1.1 401 Token Expired\r\n", rejected);
        Assert.Equal(2, RawHttp.Count(rejected, "set-cookie"));
        Assert.EndsWith("go away", rejected);
        Assert.True(closed);

        var accepted = await RawHttp.Head(_app.Gateways[0].HttpAddress, RawHttp.Upgrade("/ws/rec"), _app.Timeout);
        Assert.StartsWith("HTTP/1.1 101 ", accepted);
        Assert.Equal(2, RawHttp.Count(accepted, "set-cookie"));
    }

    [Theory]
    [InlineData("Connection: keep-alive, Upgrade", "Upgrade: WebSocket")]
    [InlineData("Connection: upgrade", "Upgrade: websocket")]
    public async Task Handshakes_that_follow_the_RFC_in_other_spellings_are_accepted(string connection, string upgrade)
    {
        var request = RawHttp.Upgrade("/ws/echo").Replace("Connection: Upgrade", connection).Replace("Upgrade: websocket", upgrade);
        var head = await RawHttp.Head(_app.Gateways[0].HttpAddress, request, _app.Timeout);
        Assert.StartsWith("HTTP/1.1 101 ", head);
    }

    [Theory]
    [InlineData("no key", null, "HTTP/1.1", "", 400, "Sec-WebSocket-Key")]
    [InlineData("short key", "c2hvcnQ=", "HTTP/1.1", "", 400, "16-byte")]
    [InlineData("not base64", "not a key at all!!!!!!==", "HTTP/1.1", "", 400, "16-byte")]
    [InlineData("HTTP/1.0", RawHttp.Key, "HTTP/1.0", "", 400, "HTTP/1.1")]
    [InlineData("version 8", RawHttp.Key, "HTTP/1.1", "Sec-WebSocket-Version: 8", 426, "version 13")]
    [InlineData("no version", RawHttp.Key, "HTTP/1.1", "Sec-WebSocket-Version:", 400, "Sec-WebSocket-Version: 13")]
    [InlineData("whitespace in the key", "dGhlIHNhbXBs ZSBub25jZQ==", "HTTP/1.1", "", 400, "16-byte")]
    [InlineData("a long key", "dGhlIHNhbXBsZSBub25jZQ==                                        x", "HTTP/1.1", "", 400, "16-byte")]
    public async Task A_handshake_that_breaks_RFC_6455_gets_a_readable_4xx_and_the_connection_closes(
        string what, string? key, string version, string extra, int status, string says)
    {
        var request = RawHttp.Upgrade("/ws/echo", version, key, extra.Length > "Sec-WebSocket-Version:".Length ? [extra] : []);
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
    public async Task An_upgrade_that_is_not_a_GET_gets_400()
    {
        var (response, closed) = await RawHttp.Exchange(
            _app.Gateways[0].HttpAddress, RawHttp.Upgrade("/ws/echo").Replace("GET /ws/echo", "POST /ws/echo"), _app.Timeout);
        Assert.StartsWith("HTTP/1.1 400 ", response);
        Assert.Contains("GET request", response);
        Assert.True(closed);
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
