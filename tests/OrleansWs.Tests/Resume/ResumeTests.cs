using Microsoft.AspNetCore.Builder;
using OrleansWs.Gateway;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests.Resume;

/// <summary>One silo, two gateways, the resume handler with a long window, a short one, and a small outbox.</summary>
public sealed class ResumeFixture : IAsyncLifetime
{
    public WebSocketTestApp App { get; private set; } = null!;

    public Task InitializeAsync() => Start().ContinueWith(t => App = t.Result);

    public static Task<WebSocketTestApp> Start() => WebSocketTestApp.StartAsync(o =>
    {
        o.Gateways = 2;
        o.MapEndpoints = e =>
        {
            e.MapWebSocketHandler<ResumeHandler>("/ws/resume", r => r.Resume = new WebSocketResumeOptions { Window = TimeSpan.FromMinutes(1) });
            e.MapWebSocketHandler<ResumeHandler>("/ws/resume-short", r => r.Resume = new WebSocketResumeOptions { Window = TimeSpan.FromSeconds(2) });
            e.MapWebSocketHandler<ResumeHandler>("/ws/resume-small", r => r.Resume = new WebSocketResumeOptions { MaxOutboxFrames = 3 });
        };
        o.ConfigureGatewayOptions = g => g.CloseTimeout = TimeSpan.FromSeconds(1);
        // An authenticated user for requests that name one (?user=NAME), as an authentication handler would set it.
        o.ConfigureGatewayApp = app => app.Use((context, next) =>
        {
            if (context.Request.Query["user"] is { Count: > 0 } user)
            {
                context.User = new System.Security.Claims.ClaimsPrincipal(
                    new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim(System.Security.Claims.ClaimTypes.Name, user.ToString())], "test"));
            }

            return next();
        });
    });

    public async Task DisposeAsync() => await App.DisposeAsync();
}

/// <summary>The resume tests that share one app (<see cref="ResumeFixture"/>), one class at a time.</summary>
[CollectionDefinition(nameof(ResumeFixture))]
public sealed class ResumeCollection : ICollectionFixture<ResumeFixture>;

[Collection(nameof(ResumeFixture))]
public sealed class ResumeTests(ResumeFixture fixture)
{
    private WebSocketTestApp App => fixture.App;

    private Uri Url(string path, int gateway = 0) => new(App.Gateways[gateway].WebSocketAddress, path);

    [Fact]
    public async Task A_plain_client_on_a_resumable_route_keeps_plain_frames()
    {
        var client = await App.Connect("/ws/resume");
        Assert.StartsWith("open ", await client.ReceiveText());
        await client.SendText("n:1");
        Assert.Equal("n:1:1", await client.ReceiveText());
    }

    [Fact]
    public async Task An_application_protocol_travels_inside_the_resume_protocol()
    {
        await using var wire = await ResumeWire.Connect(Url("/ws/resume?protocol=chat"), protocols: ["orleansws.v1+chat", "orleansws.v1"]);
        Assert.Equal("orleansws.v1+chat", wire.Socket.SubProtocol);
        var open = await wire.ReceiveData();
        // The handler saw the application protocol only, and chose it.
        Assert.Equal($"open {wire.PeerId} chat chat", open.Payload);
    }

    [Fact]
    public async Task Frames_are_numbered_and_messages_acknowledged_once_on_record()
    {
        await using var wire = await ResumeWire.Connect(Url("/ws/resume"));
        Assert.True(wire.Recovered);
        var open = await wire.ReceiveData();
        await wire.Send(1, "n:a");
        var reply = await wire.ReceiveData();
        Assert.Equal("n:a:1", reply.Payload);
        Assert.True(reply.Header.GetProperty("s").GetInt64() > open.Header.GetProperty("s").GetInt64());
        var ack = await wire.Receive();
        Assert.Equal("ack", ack!.Value.Header.GetProperty("op").GetString());
        Assert.Equal(1, ack.Value.Header.GetProperty("a").GetInt64());
    }

    [Fact]
    public async Task A_dropped_peer_resumes_on_another_gateway_with_its_state_and_every_frame_it_missed()
    {
        var wire = await ResumeWire.Connect(Url("/ws/resume"));
        await wire.ReceiveData();
        await wire.Send(1, "n:a");
        var (peerId, token, seen) = await wire.Drop((await wire.ReceiveData()).Header.GetProperty("s").GetInt64());
        Assert.Equal(CloseCodes.Abnormal, ((CloseDetails)HookLog.For(peerId).Last(e => e.Hook == "detach").Argument!).Code);

        Assert.True(await App.Peers.Send(peerId, Message.FromText("away 1")));
        Assert.True(await App.Peers.Send(peerId, Message.FromText("away 2")));
        await using var resumed = await ResumeWire.Connect(Url("/ws/resume", gateway: 1), token, seen);
        Assert.Equal(peerId, resumed.PeerId);
        Assert.True(resumed.Recovered);
        Assert.Equal(1, resumed.Welcome.GetProperty("a").GetInt64());
        Assert.Equal("away 1", (await resumed.ReceiveData()).Payload);
        Assert.Equal("away 2", (await resumed.ReceiveData()).Payload);
        await resumed.Send(2, "n:b");
        Assert.Equal("n:b:2", (await resumed.ReceiveData()).Payload);
        Assert.True((bool)(await HookLog.WaitFor(peerId, "resume")).Argument!);
        Assert.DoesNotContain(HookLog.For(peerId), e => e.Hook == "close");
    }

    [Fact]
    public async Task A_message_sent_again_after_a_resume_is_applied_once()
    {
        var wire = await ResumeWire.Connect(Url("/ws/resume"));
        await wire.ReceiveData();
        await wire.Send(1, "n:a");
        var (peerId, token, seen) = await wire.Drop((await wire.ReceiveData()).Header.GetProperty("s").GetInt64());

        await using var resumed = await ResumeWire.Connect(Url("/ws/resume", gateway: 1), token, seen);
        Assert.Equal(1, resumed.Welcome.GetProperty("a").GetInt64());
        // The client did not see the acknowledgement and sends message 1 again, then message 2.
        await resumed.Send(1, "n:a");
        await resumed.Send(2, "state");
        Assert.Equal("count 1", (await resumed.ReceiveData()).Payload);
    }

    [Fact]
    public async Task A_message_number_out_of_order_is_a_protocol_error()
    {
        await using var wire = await ResumeWire.Connect(Url("/ws/resume"));
        await wire.ReceiveData();
        await wire.Send(2, "n:skipped-one");
        Assert.Equal(CloseCodes.ProtocolError, await wire.ReceiveClose());
    }

    [Fact]
    public async Task A_close_by_the_client_ends_the_peer_at_once()
    {
        var client = await App.ConnectResumable("/ws/resume");
        await using var messages = client.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await messages.MoveNextAsync());
        var peerId = client.PeerId!;
        await client.CloseAsync();
        Assert.Equal(CloseCodes.Normal, ((CloseDetails)(await HookLog.WaitFor(peerId, "close")).Argument!).Code);
        Assert.DoesNotContain(HookLog.For(peerId), e => e.Hook == "detach");
    }

    [Fact]
    public async Task A_window_that_ends_runs_OnClose_and_its_token_is_refused_after()
    {
        var wire = await ResumeWire.Connect(Url("/ws/resume-short"));
        await wire.ReceiveData();
        var (peerId, token, _) = await wire.Drop(0);
        var closed = (CloseDetails)(await HookLog.WaitFor(peerId, "close", TimeSpan.FromSeconds(30))).Argument!;
        Assert.Equal("resume window ended", closed.Reason);

        await using var late = await ResumeWire.Connect(Url("/ws/resume-short"), token, 0);
        Assert.Equal(CloseCodes.ResumeRefused, (int?)late.Socket.CloseStatus);
    }

    [Fact]
    public async Task A_forged_token_is_refused_as_one_for_no_peer_and_the_peer_goes_on()
    {
        await using var wire = await ResumeWire.Connect(Url("/ws/resume"));
        await wire.ReceiveData();
        var key = wire.Token.Split('.')[0];

        foreach (var forged in new[] { key + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Guid.NewGuid().ToString("N") + ".AAAA", "not-a-token" })
        {
            await using var refused = await ResumeWire.Connect(Url("/ws/resume", gateway: 1), forged, 0);
            Assert.Equal(CloseCodes.ResumeRefused, (int?)refused.Socket.CloseStatus);
            Assert.Equal("resume refused", refused.Socket.CloseStatusDescription);
        }

        await wire.Send(1, "n:still-here");
        Assert.Equal("n:still-here:1", (await wire.ReceiveData()).Payload);
        Assert.Contains(App.Logs.Entries, e => e.EventName == "ResumeRefused");
    }

    [Fact]
    public async Task A_resume_while_the_old_connection_is_attached_takes_over_and_fences_it()
    {
        await using var first = await ResumeWire.Connect(Url("/ws/resume"));
        var seen = (await first.ReceiveData()).Header.GetProperty("s").GetInt64();
        await using var second = await ResumeWire.Connect(Url("/ws/resume", gateway: 1), first.Token, seen);
        Assert.Equal(first.PeerId, second.PeerId);
        Assert.Equal(CloseCodes.Superseded, await first.ReceiveClose());

        // On the same gateway too.
        await using var third = await ResumeWire.Connect(Url("/ws/resume", gateway: 1), first.Token, seen);
        Assert.Equal(CloseCodes.Superseded, await second.ReceiveClose());
        await third.Send(1, "n:x");
        Assert.Equal("n:x:1", (await third.ReceiveData()).Payload);
        Assert.DoesNotContain(HookLog.For(first.PeerId), e => e.Hook is "close" or "detach");
    }

    [Fact]
    public async Task Past_the_outbox_bounds_a_resume_says_it_did_not_recover()
    {
        var wire = await ResumeWire.Connect(Url("/ws/resume-small"));
        var (peerId, token, seen) = await wire.Drop((await wire.ReceiveData()).Header.GetProperty("s").GetInt64());
        for (var i = 1; i <= 6; i++)
        {
            Assert.True(await App.Peers.Send(peerId, Message.FromText($"away {i}")));
        }

        await using var resumed = await ResumeWire.Connect(Url("/ws/resume-small", gateway: 1), token, seen);
        Assert.False(resumed.Recovered);
        Assert.Equal(["away 4", "away 5", "away 6"], [(await resumed.ReceiveData()).Payload, (await resumed.ReceiveData()).Payload, (await resumed.ReceiveData()).Payload]);
        Assert.False((bool)(await HookLog.WaitFor(peerId, "resume")).Argument!);
        Assert.Contains(App.Logs.Entries, e => e.EventName == "ResumeOutboxTrimmed");
    }

    [Fact]
    public async Task Topic_deliveries_carry_the_topic_and_its_position()
    {
        var topic = WebSocketTestApp.UniqueName("room");
        await using var member = await ResumeWire.Connect(Url("/ws/resume"));
        await member.ReceiveData();
        await member.Send(1, "sub:" + topic);
        Assert.Equal("subscribed " + topic, (await member.ReceiveData()).Payload);

        await using var publisher = await ResumeWire.Connect(Url("/ws/resume", gateway: 1));
        await publisher.ReceiveData();
        await publisher.Send(1, $"pub:{topic}:hello");
        await publisher.Send(2, $"pub:{topic}:again");
        var first = await member.ReceiveData();
        var second = await member.ReceiveData();
        Assert.Equal(("hello", topic), (first.Payload, first.Header.GetProperty("t").GetString()));
        Assert.Equal("again", second.Payload);
        // Two publishes of one hook call are one entry of the log: one position, the second message's index 1.
        Assert.True((long.Parse(second.Header.GetProperty("p").GetString()!), Index(second.Header)) is var later
            && (long.Parse(first.Header.GetProperty("p").GetString()!), Index(first.Header)) is var earlier
            && (later.Item1 > earlier.Item1 || (later.Item1 == earlier.Item1 && later.Item2 > earlier.Item2)));

        static int Index(System.Text.Json.JsonElement header) => header.TryGetProperty("i", out var i) ? i.GetInt32() : 0;
    }

    [Fact]
    public async Task A_resumed_peer_gets_what_its_topics_published_while_it_was_away_in_order_then_live()
    {
        var topic = WebSocketTestApp.UniqueName("room");
        var member = await ResumeWire.Connect(Url("/ws/resume"));
        await member.ReceiveData();
        await member.Send(1, "sub:" + topic);
        var subscribed = await member.ReceiveData();
        await using var publisher = await ResumeWire.Connect(Url("/ws/resume", gateway: 1));
        await publisher.ReceiveData();
        await publisher.Send(1, $"pub:{topic}:seen");
        var seen = await member.ReceiveData();
        Assert.Equal("seen", seen.Payload);
        var (peerId, token, lastSeq) = await member.Drop(subscribed.Header.GetProperty("s").GetInt64());

        for (var i = 1; i <= 3; i++)
        {
            await publisher.Send(i + 1, $"pub:{topic}:away {i}");
        }

        await publisher.Send(5, "state");
        Assert.Equal("count 0", (await publisher.ReceiveData()).Payload);
        var cursor = $"{{\"{topic}\":\"{seen.Header.GetProperty("p").GetString()}.0\"}}";
        await using var resumed = await ResumeWire.Connect(Url("/ws/resume", gateway: 1), token, lastSeq, positions: cursor);
        Assert.True(resumed.Recovered);
        await publisher.Send(6, $"pub:{topic}:live");
        Assert.Equal(["away 1", "away 2", "away 3", "live"], [(await resumed.ReceiveData()).Payload, (await resumed.ReceiveData()).Payload, (await resumed.ReceiveData()).Payload, (await resumed.ReceiveData()).Payload]);
    }
}
