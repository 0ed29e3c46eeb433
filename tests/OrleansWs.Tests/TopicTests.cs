using OrleansWs.Internal;
using OrleansWs.Gateway;
using Microsoft.Extensions.DependencyInjection;

namespace OrleansWs.Tests;

public sealed class TopicTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);
    private readonly Testing.WebSocketTestApp _app = fixture.App;

    [Fact]
    public async Task A_chat_message_reaches_the_room_on_every_gateway_but_not_the_sender_or_other_rooms()
    {
        var room = AppExtensions.NewTag();
        await using var alice = await _app.Connect($"/ws/chat?room={room}", gateway: 0);
        await using var bob = await _app.Connect($"/ws/chat?room={room}", gateway: 0);
        await using var carol = await _app.Connect($"/ws/chat?room={room}", gateway: 1);
        await using var dave = await _app.Connect($"/ws/chat?room={room}-other", gateway: 1);

        await alice.SendText("hi all");
        Assert.Equal("hi all", await bob.ReceiveText());
        Assert.Equal("hi all", await carol.ReceiveText());

        var bytes = new byte[] { 1, 2, 3 };
        await carol.SendBinary(bytes);
        Assert.Equal(bytes, await alice.ReceiveBinary());
        Assert.Equal(bytes, await bob.ReceiveBinary());

        // Exactly once each, never to the sender, never to another room.
        await Task.WhenAll(alice.ExpectNoMessage(Quiet), bob.ExpectNoMessage(Quiet), carol.ExpectNoMessage(Quiet), dave.ExpectNoMessage(Quiet));
    }

    [Fact]
    public async Task Publishes_from_one_peer_arrive_in_order_at_each_subscriber()
    {
        var room = AppExtensions.NewTag();
        await using var sender = await _app.Connect($"/ws/chat?room={room}", gateway: 0);
        await using var near = await _app.Connect($"/ws/chat?room={room}", gateway: 0);
        await using var far = await _app.Connect($"/ws/chat?room={room}", gateway: 1);
        for (var i = 0; i < 200; i++)
        {
            await sender.SendText(i.ToString());
        }

        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(i.ToString(), await near.ReceiveText());
            Assert.Equal(i.ToString(), await far.ReceiveText());
        }
    }

    [Fact]
    public async Task A_gateway_subscribes_once_per_topic_and_drops_it_with_its_last_subscriber()
    {
        var topic = AppExtensions.NewTag();
        var fanout = _app.Gateways[0].App.Services.GetRequiredService<GatewayRuntime>().Topics;
        var (a, _) = await _app.OpenRecording("subscribe=" + topic);
        var (b, _) = await _app.OpenRecording("subscribe=" + topic);
        Assert.Contains(topic, fanout.Topics);
        Assert.Equal(2, fanout.Members(topic));

        await a.SendText("unsub:" + topic);
        Assert.Equal("unsubscribed " + topic, await a.ReceiveText());
        Assert.Equal(1, fanout.Members(topic));
        await b.SendText("unsub:" + topic);
        Assert.Equal("unsubscribed " + topic, await b.ReceiveText());
        Assert.DoesNotContain(topic, fanout.Topics);

        await _app.Peers.Publish(topic, Message.FromText("nobody hears this"));
        await a.ExpectNoMessage(Quiet);
    }

    [Fact]
    public async Task Subscribe_publish_and_unsubscribe_from_hooks()
    {
        var topic = AppExtensions.NewTag();
        var (a, _) = await _app.OpenRecording(gateway: 0);
        var (b, _) = await _app.OpenRecording(gateway: 1);
        await a.SendText("sub:" + topic);
        Assert.Equal("subscribed " + topic, await a.ReceiveText());
        await b.SendText("sub:" + topic);
        Assert.Equal("subscribed " + topic, await b.ReceiveText());

        await b.SendText($"pub:{topic}:from b");
        Assert.Equal("published", await b.ReceiveText());
        Assert.Equal("from b", await a.ReceiveText());
        await b.ExpectNoMessage(Quiet);

        await a.SendText("unsub:" + topic);
        Assert.Equal("unsubscribed " + topic, await a.ReceiveText());
        await b.SendText($"pub:{topic}:again");
        Assert.Equal("published", await b.ReceiveText());
        await a.ExpectNoMessage(Quiet);
    }

    [Fact]
    public async Task A_peer_gets_nothing_published_before_it_joined_even_while_that_is_still_on_its_way()
    {
        var room = AppExtensions.NewTag();
        await using var early = await _app.Connect($"/ws/chat?room={room}", gateway: 0);
        // A backlog, all of it queued before the late peers connect and much of it still being
        // delivered while they join: gateway 0 already holds the topic, gateway 1 subscribes anew.
        await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => _app.Peers.Publish(room, Message.FromText($"before {i}"))));
        await using var lateFar = await _app.Connect($"/ws/chat?room={room}", gateway: 1);
        await using var lateNear = await _app.Connect($"/ws/chat?room={room}", gateway: 0);

        await _app.Peers.Publish(room, Message.FromText("after"));
        Assert.Equal("after", await lateFar.ReceiveText());
        Assert.Equal("after", await lateNear.ReceiveText());
        for (var i = 0; i < 2001; i++)
        {
            await early.ReceiveText(); // the early peer got all of it
        }
    }

    [Fact]
    public async Task A_publish_from_outside_reaches_every_subscriber()
    {
        var room = AppExtensions.NewTag();
        await using var a = await _app.Connect($"/ws/chat?room={room}", gateway: 0);
        await using var b = await _app.Connect($"/ws/chat?room={room}", gateway: 1);
        await _app.Peers.Publish(room, Message.FromText("announcement"));
        Assert.Equal("announcement", await a.ReceiveText());
        Assert.Equal("announcement", await b.ReceiveText());
    }

    [Fact]
    public async Task A_peer_that_subscribes_then_reads_misses_no_publish_made_while_it_joins()
    {
        // A peer bumps its room's counter grain and publishes each new value while 30 peers join; each joiner's
        // OnOpen subscribes, then reads the counter. Any value above what it read was published after its subscribe
        // was in place, so it must arrive.
        const int Publishes = 300;
        var room = AppExtensions.NewTag();
        // The publisher is a peer of the room: its publishes are to its namespace, which a joiner's gateway must
        // already know when the joiner's OnOpen subscribes.
        await using var publisher = await _app.Connect($"/ws/counter?room={room}", gateway: 0);
        Assert.Equal("value 0", await publisher.ReceiveText());
        var joining = Task.Run(async () =>
        {
            var joiners = new List<(Testing.TestClient Client, int Read)>();
            for (var i = 0; i < 30; i++)
            {
                var client = await _app.Connect($"/ws/counter?room={room}&pause=20", gateway: i % 2);
                joiners.Add((client, int.Parse((await client.ReceiveText())["value ".Length..])));
            }

            return joiners;
        });
        for (var i = 1; i <= Publishes; i++)
        {
            await publisher.SendText("inc");
            Assert.Equal($"value {i}", await publisher.ReceiveText());
        }

        foreach (var (client, read) in await joining)
        {
            await using (client)
            {
                var got = new List<int>();
                while (read < Publishes && (got.Count == 0 || got[^1] < Publishes))
                {
                    got.Add(int.Parse((await client.ReceiveText())["value ".Length..]));
                }

                // In publish order, and every value after the one read (the one read itself may come too).
                Assert.Equal(got.Order(), got);
                Assert.Empty(Enumerable.Range(read + 1, Publishes - read).Except(got));
            }
        }
    }
}

/// <summary>Pulling agents forget a topic after it is silent for the inactivity period; it must come back.</summary>
public sealed class IdleTopicTests(IdleTopicTests.Fixture fixture) : IClassFixture<IdleTopicTests.Fixture>
{
    public sealed class Fixture : AppFixture
    {
        public static readonly TimeSpan Inactivity = TimeSpan.FromSeconds(1);

        protected override void Configure(Testing.WebSocketTestAppOptions options) =>
            options.ConfigureSiloOptions = o => o.TopicInactivityPeriod = Inactivity;
    }

    [Fact]
    public async Task A_topic_silent_for_longer_than_the_inactivity_period_still_delivers()
    {
        var app = fixture.App;
        var room = AppExtensions.NewTag();
        await using var a = await app.Connect($"/ws/chat?room={room}", gateway: 0);
        await using var b = await app.Connect($"/ws/chat?room={room}", gateway: 1);
        await a.SendText("before");
        Assert.Equal("before", await b.ReceiveText());

        // Silence is the condition under test here, not a way to synchronise.
        await Task.Delay(Fixture.Inactivity * 4);

        await a.SendText("after");
        Assert.Equal("after", await b.ReceiveText());
        await b.SendText("back");
        Assert.Equal("back", await a.ReceiveText());
    }
}
