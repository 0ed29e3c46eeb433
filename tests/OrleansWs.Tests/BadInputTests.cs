using System.Net;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

public sealed class BadInputTests(BadInputTests.Fixture fixture) : IClassFixture<BadInputTests.Fixture>
{
    public sealed class Fixture : AppFixture
    {
        public const long SendQueueCap = 64 * 1024;

        protected override void Configure(Testing.WebSocketTestAppOptions options)
        {
            var baseline = options.ConfigureGatewayOptions;
            options.ConfigureGatewayOptions = g =>
            {
                baseline?.Invoke(g);
                g.MaxSendQueueBytes = SendQueueCap;
                g.AllowedOrigins.Add("https://friend.example");
            };
        }
    }

    private readonly Testing.WebSocketTestApp _app = fixture.App;

    [Fact]
    public async Task A_plain_GET_on_a_WebSocket_path_gets_426_with_a_readable_body()
    {
        using var response = await _app.Probe("/ws/echo", webSocket: false);
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.Contains("WebSocket", await response.Content.ReadAsStringAsync());
        Assert.Equal(["websocket"], response.Headers.GetValues("Upgrade"));
    }

    [Fact]
    public async Task An_unknown_path_gets_404()
    {
        using var response = await _app.Probe("/ws/nope");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_cross_site_upgrade_gets_403_and_allowed_or_same_origins_pass()
    {
        using var evil = await _app.Probe("/ws/echo", headers: h => h.Add("Origin", "https://evil.example"));
        Assert.Equal(HttpStatusCode.Forbidden, evil.StatusCode);
        Assert.Contains("evil.example", await evil.Content.ReadAsStringAsync());

        await using var friend = await _app.Connect("/ws/echo", configure: o => o.SetRequestHeader("Origin", "https://friend.example"));
        var self = _app.Gateways[0].HttpAddress.GetLeftPart(UriPartial.Authority);
        await using var same = await _app.Connect("/ws/echo", configure: o => o.SetRequestHeader("Origin", self));
        await same.SendText("ok");
        Assert.Equal("ok", await same.ReceiveText());
    }

    [Fact]
    public async Task A_message_over_the_maximum_closes_with_1009()
    {
        var (client, peerId) = await _app.OpenRecording();
        await client.SendBinary(new byte[AppFixture.MaxMessageSize + 1]);
        var closed = await client.ExpectClose(1009);
        Assert.Contains("message over", closed.Reason);
        var details = (CloseDetails)(await HookLog.WaitFor(peerId, "close")).Argument!;
        Assert.Equal(1009, details.Code);
        Assert.DoesNotContain(HookLog.For(peerId), e => e.Hook == "message");
        AssertSocketErrorBeforeClose(peerId, 1009);
    }

    // crossws' error hook fires for socket errors: OnError gets the close code, just before OnClose.
    private static void AssertSocketErrorBeforeClose(string peerId, int code)
    {
        var hooks = HookLog.For(peerId).Select(e => e.Hook).ToList();
        Assert.Equal(["open", "error", "close"], hooks);
        var error = Assert.IsType<PeerSocketException>(HookLog.For(peerId)[1].Argument);
        Assert.Equal(code, error.CloseCode);
    }

    [Fact]
    public async Task Invalid_UTF8_in_a_text_frame_closes_with_1007()
    {
        var (client, peerId) = await _app.OpenRecording();
        await client.SendTextBytes([0x68, 0xC3, 0x28]);
        await client.ExpectClose(1007);
        var details = (CloseDetails)(await HookLog.WaitFor(peerId, "close")).Argument!;
        Assert.Equal(1007, details.Code);
        AssertSocketErrorBeforeClose(peerId, 1007);
    }

    [Fact]
    public async Task A_protocol_violation_closes_with_1002()
    {
        var mark = _app.Logs.Mark();
        var tag = AppExtensions.NewTag();
        await using var raw = await _app.ConnectRaw($"/ws/rec?tag={tag}");
        var peerId = ((UpgradeSeen)(await HookLog.WaitFor(tag, "upgrade")).Argument!).PeerId;
        // Opcode 0x3 is reserved (RFC 6455 §5.2).
        await raw.SendFrame(0x83, [1, 2, 3]);
        Assert.Equal(1002, await raw.ExpectCloseCode());
        var details = (CloseDetails)(await HookLog.WaitFor(peerId, "close")).Argument!;
        Assert.Equal(1002, details.Code);
        AssertSocketErrorBeforeClose(peerId, 1002);

        // An unmasked client frame is refused too (once its header and 4 more bytes are in: the runtime reads a
        // client frame's header together with the mask it expects).
        var unmaskedTag = AppExtensions.NewTag();
        await using var unmasked = await _app.ConnectRaw($"/ws/rec?tag={unmaskedTag}");
        var unmaskedId = ((UpgradeSeen)(await HookLog.WaitFor(unmaskedTag, "upgrade")).Argument!).PeerId;
        await unmasked.SendFrame(0x81, "hello, unmasked"u8.ToArray(), mask: false);
        Assert.Equal(1002, await unmasked.ExpectCloseCode());
        await HookLog.WaitFor(unmaskedId, "close");
        AssertSocketErrorBeforeClose(unmaskedId, 1002);
        _app.Logs.AssertNoErrorsSince(mark);
    }

    [Fact]
    public async Task A_client_that_vanishes_produces_OnClose_with_1006()
    {
        var (client, peerId) = await _app.OpenRecording();
        client.Abort();
        var details = (CloseDetails)(await HookLog.WaitFor(peerId, "close")).Argument!;
        Assert.Equal(1006, details.Code);
        Assert.False(details.WasClean);
    }

    [Fact]
    public async Task A_client_that_never_answers_the_close_frame_is_dropped_after_the_close_timeout()
    {
        // The server's read on this idle socket waits without a cancellation token: only the close
        // timeout aborting the socket can end it.
        var tag = AppExtensions.NewTag();
        await using var silent = await _app.ConnectRaw($"/ws/rec?tag={tag}");
        var peerId = ((UpgradeSeen)(await HookLog.WaitFor(tag, "upgrade")).Argument!).PeerId;
        await HookLog.WaitFor(peerId, "open");

        Assert.True(await _app.Peers.Close(peerId, 4321, "go away"));
        Assert.Equal(4321, await silent.ExpectCloseCode());

        var details = (CloseDetails)(await HookLog.WaitFor(peerId, "close")).Argument!;
        Assert.Equal(4321, details.Code);
        Assert.Equal("go away", details.Reason);
        Assert.False(details.WasClean);
    }

    [Fact]
    public async Task A_peer_too_slow_to_read_is_closed_without_stalling_others()
    {
        var mark = _app.Logs.Mark();
        var tag = AppExtensions.NewTag();
        await using var slow = await _app.ConnectRaw($"/ws/rec?tag={tag}", receiveBufferSize: 4096, neverRead: true);
        var peerId = ((UpgradeSeen)(await HookLog.WaitFor(tag, "upgrade")).Argument!).PeerId;
        await HookLog.WaitFor(peerId, "open");
        var (fast, _) = await _app.OpenRecording();

        // The raw client never reads: socket buffers fill, then the gateway's queue passes its cap.
        var chunk = Message.FromBytes(new byte[16 * 1024]);
        var closing = HookLog.WaitFor(peerId, "close", TimeSpan.FromSeconds(30));
        for (var i = 0; i < 4000 && !closing.IsCompleted; i++)
        {
            if (!await _app.Peers.Send(peerId, chunk))
            {
                break;
            }
        }

        var details = (CloseDetails)(await closing).Argument!;
        Assert.Equal(CloseCodes.TryAgainLater, details.Code);
        await fast.SendText("unaffected");
        Assert.Equal("unaffected", await fast.ReceiveText());
        _app.Logs.AssertNoErrorsSince(mark);
    }

    [Fact]
    public async Task Bad_input_never_takes_the_gateway_down()
    {
        using var garbage = await _app.Probe("/ws/echo", headers: h => h.Remove("Sec-WebSocket-Key"));
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        await using var client = await _app.Connect("/ws/echo");
        await client.SendText("alive");
        Assert.Equal("alive", await client.ReceiveText());
    }
}
