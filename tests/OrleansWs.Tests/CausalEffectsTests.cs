using OrleansWs.Hosting;
using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;
using OrleansWs.Tests.Topics;

namespace OrleansWs.Tests;

/// <summary>
/// What a hook publishes or sends reaches every peer it is for before anything the hook's reply causes:
/// each test has a peer act, waits for its reply, then asks another peer for a reply of its own, which
/// must come after what the first peer's hook did. The peer that listens is on a gateway whose topic
/// deliveries take a little longer (as across machines), where in one process they would usually win
/// the race anyway; each test repeats its round.
/// </summary>
public sealed class CausalEffectsTests(CausalEffectsTests.Fixture fixture) : CausalEffectsSpecification(fixture.App), IClassFixture<CausalEffectsTests.Fixture>
{
    public sealed class Fixture : CausalEffectsFixture;
}

/// <summary>The same on the Redis Streams log (peer state stays in the kit's storage).</summary>
public sealed class RedisCausalEffectsTests(RedisCausalEffectsTests.Fixture fixture) : CausalEffectsSpecification(fixture.App), IClassFixture<RedisCausalEffectsTests.Fixture>
{
    public sealed class Fixture : CausalEffectsFixture, IAsyncLifetime
    {
        private readonly RedisServer _redis = new();

        protected override void Configure(WebSocketTestAppOptions options)
        {
            var silo = options.ConfigureSilo;
            options.ConfigureSilo = s =>
            {
                silo?.Invoke(s);
                s.AddOrleansWsRedisTopics(_redis.Options);
            };
        }

        async Task IAsyncLifetime.InitializeAsync()
        {
            await _redis.InitializeAsync();
            await Start();
        }

        async Task IAsyncLifetime.DisposeAsync()
        {
            await DisposeAsync();
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>One app, and a third gateway whose topic deliveries take 25 ms longer.</summary>
public class CausalEffectsFixture : AppFixture, IAsyncLifetime
{
    async Task IAsyncLifetime.InitializeAsync() => await Start();

    protected async Task Start()
    {
        await InitializeAsync();
        await App.StartGatewayAsync(configureBuilder: HeldTopicSubscriber.Install(held => held.Delay = TimeSpan.FromMilliseconds(25)));
    }
}

public abstract class CausalEffectsSpecification(WebSocketTestApp app)
{
    private const int Rounds = 20;
    private readonly WebSocketTestApp _app = app;

    // The gateway whose topic deliveries are slowed.
    private const int Slow = 2;

    [Theory]
    [InlineData(0, "yes")]
    [InlineData(Slow, "yes")]
    [InlineData(0, "no")]
    public async Task A_peer_is_told_that_another_joined_before_any_reply_the_join_caused(int joinerGateway, string listen)
    {
        var room = WebSocketTestApp.UniqueName("room");
        var (a, _) = await Join(room, Slow);
        for (var i = 0; i < Rounds; i++)
        {
            // The handshake completing is the joiner's reply: its OnOpen's publish is at every gateway by then.
            var b = await _app.Connect($"/ws/causal?room={room}&listen={listen}", joinerGateway);
            await a.SendText("who");
            var joined = await a.ReceiveText();
            Assert.StartsWith("here: ", await a.ReceiveText());
            Assert.Equal("welcome " + joined[..^" joined!".Length], await b.ReceiveText());
            await b.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_publish_from_OnMessage_reaches_the_room_before_a_frame_its_reply_caused()
    {
        var room = WebSocketTestApp.UniqueName("room");
        var (a, _) = await Join(room, Slow);
        var (c, _) = await Join(room, gateway: 1);
        await a.ReceiveText(); // c joined
        for (var i = 0; i < Rounds; i++)
        {
            await c.SendText($"pub:m{i}");
            Assert.Equal("published", await c.ReceiveText());
            await a.SendText("who");
            Assert.Equal($"m{i}", await a.ReceiveText());
            Assert.StartsWith("here: ", await a.ReceiveText());
        }
    }

    [Fact]
    public async Task A_send_by_id_from_a_hook_reaches_its_peer_before_a_frame_the_reply_caused()
    {
        var room = WebSocketTestApp.UniqueName("room");
        var (a, aId) = await Join(room, Slow);
        var (c, _) = await Join(room, gateway: 1);
        await a.ReceiveText(); // c joined
        for (var i = 0; i < Rounds; i++)
        {
            await c.SendText($"send:{aId}:d{i}");
            Assert.Equal("sent", await c.ReceiveText());
            await a.SendText("who");
            Assert.Equal($"d{i}", await a.ReceiveText());
            Assert.StartsWith("here: ", await a.ReceiveText());
        }

        await c.SendText("send:room/nobody:hello");
        Assert.Equal("not open", await c.ReceiveText());
    }

    [Fact]
    public async Task A_publish_through_Peers_from_a_hook_reaches_everyone_before_its_reply_and_what_the_reply_caused()
    {
        var room = WebSocketTestApp.UniqueName("room");
        var (a, _) = await Join(room, Slow);
        var (c, _) = await Join(room, gateway: 1);
        await a.ReceiveText(); // c joined
        for (var i = 0; i < Rounds; i++)
        {
            await c.SendText($"peers-pub:q{i}");
            // Peers.Publish leaves nobody out: the publisher's own copy comes before its reply.
            Assert.Equal($"q{i}", await c.ReceiveText());
            Assert.Equal("published", await c.ReceiveText());
            await a.SendText("who");
            Assert.Equal($"q{i}", await a.ReceiveText());
            Assert.StartsWith("here: ", await a.ReceiveText());
        }
    }

    [Fact]
    public async Task A_close_by_id_from_a_hook_reaches_its_peer_before_the_reply()
    {
        var room = WebSocketTestApp.UniqueName("room");
        var (a, aId) = await Join(room, Slow);
        var (c, _) = await Join(room, gateway: 1);
        await a.ReceiveText(); // c joined
        await c.SendText($"close:{aId}");
        Assert.Equal("closed", await c.ReceiveText());
        var closed = await a.ExpectClose(4001);
        Assert.Equal("closed by a peer", closed.Reason);
    }

    [Fact]
    public async Task WaitForDrain_is_a_commit_point_the_state_is_written_and_what_the_hook_did_so_far_is_out()
    {
        var room = WebSocketTestApp.UniqueName("room");
        var (a, aId) = await Join(room, Slow);
        var (c, _) = await Join(room, gateway: 1);
        await a.ReceiveText(); // c joined
        await a.SendText("park:noted");

        // The hook is parked after its WaitForDrain: its frame, its publish and its state are out already.
        Assert.Equal("before the drain", await a.ReceiveText());
        Assert.Equal("published before the drain", await c.ReceiveText());
        Assert.Contains("noted", (await _app.ReadState<CausalState>(aId))!.Notes);

        CausalHandler.Parked.GetOrAdd(aId, _ => new()).SetResult();
        Assert.Equal("drained True", await a.ReceiveText());
    }

    [Fact]
    public async Task The_demo_room_echoes_to_the_sender_once_the_room_has_the_message()
    {
        var room = WebSocketTestApp.UniqueName("room");
        await using var a = await _app.Connect($"/ws/room?room={room}", Slow);
        var aWelcome = await a.ReceiveText();
        Assert.StartsWith("Welcome ", aWelcome);
        await using var b = await _app.Connect($"/ws/room?room={room}", 1);
        var bId = (await b.ReceiveText())["Welcome ".Length..^1];
        for (var i = 0; i < Rounds; i++)
        {
            await b.SendText($"hello {i}");
            Assert.Equal($"hello {i}", await b.ReceiveText());
            await a.SendText("mine");
            if (i == 0)
            {
                Assert.Equal($"{bId} joined!", await a.ReceiveText());
            }

            Assert.Equal($"hello {i}", await a.ReceiveText());
            Assert.Equal("mine", await a.ReceiveText());
            Assert.Equal("mine", await b.ReceiveText());
        }
    }

    private async Task<(TestClient Client, string PeerId)> Join(string room, int gateway)
    {
        var client = await _app.Connect($"/ws/causal?room={room}", gateway);
        var welcome = await client.ReceiveText();
        Assert.StartsWith("welcome ", welcome);
        return (client, welcome["welcome ".Length..]);
    }
}

/// <summary>Peers of a room close and join while it talks, on every gateway: no publish is missed and nothing logs an error.</summary>
public sealed class RoomChurnTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private readonly WebSocketTestApp _app = fixture.App;

    [Fact]
    public async Task A_room_whose_peers_come_and_go_while_it_talks_logs_no_error_and_misses_nothing()
    {
        var mark = _app.Logs.Mark();
        var room = WebSocketTestApp.UniqueName("room");
        var speaker = await _app.Connect($"/ws/causal?room={room}", 0);
        Assert.StartsWith("welcome ", await speaker.ReceiveText());
        for (var i = 0; i < 40; i++)
        {
            // Each round the room's only peer on the gateway joins and leaves, so its subscription there
            // comes and goes, and the speaker's gateway holds the room throughout.
            var guest = await _app.Connect($"/ws/causal?room={room}", 1);
            Assert.StartsWith("welcome ", await guest.ReceiveText());
            Assert.EndsWith(" joined!", await speaker.ReceiveText());
            await speaker.SendText($"pub:round {i}");
            Assert.Equal("published", await speaker.ReceiveText());
            Assert.Equal($"round {i}", await guest.ReceiveText());
            await guest.Close();
        }

        _app.Logs.AssertNoErrorsSince(mark);
    }
}
