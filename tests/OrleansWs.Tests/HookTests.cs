using System.Net;
using System.Text.Json;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

public sealed class HookTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private readonly Testing.WebSocketTestApp _app = fixture.App;

    [Fact]
    public async Task Upgrade_sees_the_request_and_open_sends_the_first_frame()
    {
        var mark = _app.Logs.Mark();
        var tag = AppExtensions.NewTag();
        await using var client = await _app.Connect($"/ws/rec?tag={tag}&x=1&x=2", configure: o =>
        {
            o.SetRequestHeader("X-Custom", "Value");
            o.AddSubProtocol("p1");
            o.AddSubProtocol("p2");
        });

        var seen = (UpgradeSeen)(await HookLog.WaitFor(tag, "upgrade")).Argument!;
        var request = seen.Request;
        Assert.Equal("/ws/rec", request.Path);
        Assert.Equal("/ws/rec", request.Endpoint);
        Assert.StartsWith("http://127.0.0.1:", request.Url);
        Assert.StartsWith("ws://127.0.0.1:", request.WebSocketUrl);
        Assert.Equal(tag, request.Query["tag"]);
        Assert.Equal(["1", "2"], request.Query.GetValues("x"));
        Assert.Null(request.Query["missing"]);
        Assert.Equal("Value", request.Headers["x-custom"]);
        Assert.Contains(request.Headers, h => h.Key == "x-custom");
        Assert.DoesNotContain(request.Headers, h => h.Key != h.Key.ToLowerInvariant());
        Assert.Equal("127.0.0.1", request.RemoteAddress);
        Assert.Equal(["p1", "p2"], request.RequestedProtocols);
        Assert.Null(request.User);

        // OnOpen's send is the very first frame, and names the peer the upgrade created.
        Assert.Equal("welcome " + seen.PeerId, await client.ReceiveText());
        var open = (Peer)(await HookLog.WaitFor(seen.PeerId, "open")).Argument!;
        Assert.StartsWith("recording/", open.Id);
        Assert.Equal(request.WebSocketUrl, open.Url);
        Assert.Null(client.SubProtocol);
        _app.Logs.AssertNoErrorsSince(mark);
    }

    [Fact]
    public async Task Accept_can_choose_a_protocol_add_headers_and_give_a_context()
    {
        var tag = AppExtensions.NewTag();
        await using var client = await _app.Connect($"/ws/rec?tag={tag}&protocol=p2", configure: o =>
        {
            o.AddSubProtocol("p1");
            o.AddSubProtocol("p2");
        });
        await client.ReceiveText();

        Assert.Equal(HttpStatusCode.SwitchingProtocols, client.HandshakeStatus);
        Assert.Equal("p2", client.SubProtocol);
        Assert.Equal(["yes"], client.HandshakeHeaders["x-upgrade"]);
        Assert.Contains("session=abc; HttpOnly", client.HandshakeHeaders["Set-Cookie"]);

        await client.SendText("info");
        var info = await client.ReceiveJson<PeerInfo>();
        Assert.Equal("p2", info.Protocol);
        Assert.Equal(tag, info.Tag);
        Assert.Equal("127.0.0.1", info.RemoteAddress);
        Assert.StartsWith("ws://", info.Url);
    }

    [Fact]
    public async Task A_rejected_upgrade_answers_with_its_response_and_leaves_no_peer_behind()
    {
        var mark = _app.Logs.Mark();
        var tag = AppExtensions.NewTag();
        using var response = await _app.Probe($"/ws/rec?tag={tag}&reject=403");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("go away", await response.Content.ReadAsStringAsync());
        Assert.Equal(["test"], response.Headers.GetValues("x-reason"));

        var peerId = ((UpgradeSeen)(await HookLog.WaitFor(tag, "upgrade")).Argument!).PeerId;
        await _app.WaitForDeactivation(peerId);
        Assert.False(_app.IsActive(peerId));
        Assert.Null(await _app.ReadPeerRecord<RecordingState>(peerId));
        Assert.Empty(HookLog.For(peerId));
        _app.Logs.AssertNoErrorsSince(mark);
    }

    [Fact]
    public async Task A_throwing_upgrade_hook_answers_500()
    {
        var mark = _app.Logs.Mark();
        using var response = await _app.Probe($"/ws/rec?tag={AppExtensions.NewTag()}&throw=1");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("upgrade hook failed", await response.Content.ReadAsStringAsync());
        Assert.Single(_app.Logs.ErrorsSince(mark), e => e.EventName == "UpgradeHookFailed");
    }

    [Fact]
    public async Task Message_and_close_hooks_get_what_the_client_sent()
    {
        var (client, peerId) = await _app.OpenRecording();
        await client.SendText("hello");
        Assert.Equal("hello", await client.ReceiveText());
        var message = (Message)(await HookLog.WaitFor(peerId, "message")).Argument!;
        Assert.True(message.IsText);
        Assert.Equal("hello", message.Text());

        await client.Close(4001, "bye");
        var details = (CloseDetails)(await HookLog.WaitFor(peerId, "close")).Argument!;
        Assert.Equal(new CloseDetails(4001, "bye", WasClean: true), details);
        Assert.Equal(["open", "message", "close"], HookLog.For(peerId).Select(e => e.Hook));
    }

    [Fact]
    public async Task A_throwing_hook_runs_OnError_and_closes_only_that_peer_with_1011()
    {
        var mark = _app.Logs.Mark();
        var (bystander, _) = await _app.OpenRecording();
        var (client, peerId) = await _app.OpenRecording();

        await client.SendText("throw");
        var closed = await client.ExpectClose(1011);
        Assert.Equal("handler error", closed.Reason);

        var error = (Exception)(await HookLog.WaitFor(peerId, "error")).Argument!;
        Assert.Equal("boom", error.Message);
        var details = (CloseDetails)(await HookLog.WaitFor(peerId, "close")).Argument!;
        Assert.Equal(1011, details.Code);

        await bystander.SendText("still here");
        Assert.Equal("still here", await bystander.ReceiveText());
        Assert.All(_app.Logs.ErrorsSince(mark), e => Assert.Equal("HookFailed", e.EventName));
    }

    [Fact]
    public async Task A_throwing_open_hook_closes_the_new_peer_with_1011()
    {
        var (client, peerId) = await _app.OpenRecording("failOpen=1");
        await client.ExpectClose(1011);
        await HookLog.WaitFor(peerId, "error");
        await HookLog.WaitFor(peerId, "close");
    }

    [Fact]
    public async Task A_hook_can_close_with_a_code_and_reason()
    {
        var (client, peerId) = await _app.OpenRecording();
        await client.SendText("close:4000:done here");
        var closed = await client.ExpectClose(4000);
        Assert.Equal("done here", closed.Reason);
        var details = (CloseDetails)(await HookLog.WaitFor(peerId, "close")).Argument!;
        Assert.Equal(new CloseDetails(4000, "done here", WasClean: true), details);
    }

    [Fact]
    public async Task A_hook_can_terminate_without_a_close_frame()
    {
        var (client, peerId) = await _app.OpenRecording();
        await client.SendText("terminate");
        var next = await Assert.ThrowsAnyAsync<Exception>(() => client.Receive());
        Assert.Contains("connection", next.Message, StringComparison.OrdinalIgnoreCase);
        var details = (CloseDetails)(await HookLog.WaitFor(peerId, "close")).Argument!;
        Assert.Equal(1006, details.Code);
        Assert.False(details.WasClean);
    }

    [Fact]
    public async Task Peer_info_is_serializable_json()
    {
        var (client, peerId) = await _app.OpenRecording();
        await client.SendText("info");
        var json = await client.ReceiveText();
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(peerId, doc.RootElement.GetProperty("id").GetString());
    }
}
