using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansWs.Testing;

namespace CounterRooms;

/// <summary>The counter rooms on two silos and two gateways: an app of their own, since a test kills a silo.</summary>
public sealed class CounterRoomsFixture : IAsyncLifetime
{
    public WebSocketTestApp App { get; private set; } = null!;

    public async Task InitializeAsync() =>
        App = await WebSocketTestApp.StartAsync(o =>
        {
            o.Silos = 2;
            o.Gateways = 2;
            o.ConfigureSilo = CounterRoomsApp.ConfigureSilo;     // the same call the app's host makes
            o.MapEndpoints = CounterRoomsApp.MapEndpoints;
        });

    public async Task DisposeAsync() => await App.DisposeAsync();
}

public sealed class CounterRoomsTests(CounterRoomsFixture fixture) : IClassFixture<CounterRoomsFixture>
{
    private readonly WebSocketTestApp _app = fixture.App;

    [Fact]
    public async Task Members_on_different_gateways_share_the_room_value()
    {
        var room = WebSocketTestApp.UniqueName("room");
        await using var ann = await _app.Connect($"/rooms?room={room}", gateway: 0);
        Assert.Equal(new RoomValue(0, 0), await ann.ReceiveJson<RoomValue>());
        await using var bob = await _app.Connect($"/rooms?room={room}", gateway: 1);
        Assert.Equal(new RoomValue(0, 0), await bob.ReceiveJson<RoomValue>());

        await ann.SendText("inc");
        Assert.Equal(new RoomValue(1, 1), await ann.ReceiveJson<RoomValue>());
        Assert.Equal(new RoomValue(1, 1), await bob.ReceiveJson<RoomValue>());
        await bob.SendText("reset");
        Assert.Equal(new RoomValue(0, 2), await bob.ReceiveJson<RoomValue>());
        Assert.Equal(new RoomValue(0, 2), await ann.ReceiveJson<RoomValue>());

        await bob.SendText("double");
        Assert.Equal("send inc, dec or reset", (await bob.ExpectClose(4000)).Reason);
    }

    [Fact]
    public async Task A_member_who_joins_while_the_room_changes_misses_no_change()
    {
        const int MaxChanges = 5_000;
        var room = WebSocketTestApp.UniqueName("room");
        await using var writer = await _app.Connect($"/rooms?room={room}");
        await writer.ReceiveJson<RoomValue>();
        var version = 0;
        async Task Change()
        {
            await writer.SendText("inc");
            Assert.Equal(++version, (await writer.ReceiveJson<RoomValue>()).Version);
        }

        // Ten members join while the writer keeps changing the room: it changes it before the first join, during all
        // of them, and after the last (bounded in count).
        for (var i = 0; i < 5; i++)
        {
            await Change();
        }

        var joining = Task.Run(async () =>
        {
            var joined = new List<(TestClient Client, RoomValue Read)>();
            for (var i = 0; i < 10; i++)
            {
                var client = await _app.Connect($"/rooms?room={room}", gateway: i % 2);
                joined.Add((client, await client.ReceiveJson<RoomValue>()));
            }

            return joined;
        });
        while (!joining.IsCompleted && version < MaxChanges)
        {
            await Change();
        }

        for (var i = 0; i < 5; i++)
        {
            await Change();
        }

        // Each member read a version from the middle of the stream, then hears every later one, in order; one it
        // already read may come again.
        foreach (var (client, read) in await joining)
        {
            await using (client)
            {
                Assert.InRange(read.Version, 5, version - 5);
                var heard = read.Version;
                while (heard < version)
                {
                    var next = await client.ReceiveJson<RoomValue>();
                    if (next.Version > heard)
                    {
                        Assert.Equal(heard + 1, next.Version);
                        heard = next.Version;
                    }
                }
            }
        }
    }

    [Fact]
    public async Task The_room_value_survives_the_loss_of_the_silo_that_held_it()
    {
        var mark = _app.Logs.Mark();
        var room = WebSocketTestApp.UniqueName("room");
        await using var ann = await _app.Connect($"/rooms?room={room}");
        await ann.ReceiveJson<RoomValue>();
        await ann.SendText("inc");
        await ann.SendText("inc");
        Assert.Equal(new RoomValue(1, 1), await ann.ReceiveJson<RoomValue>());
        Assert.Equal(new RoomValue(2, 2), await ann.ReceiveJson<RoomValue>());

        var silo = _app.SiloOf(_app.Cluster.Client.GetGrain<IRoomGrain>(room).GetGrainId())!;
        await _app.KillSiloAsync(silo);
        await _app.WaitForClusterToSettle(afterKill: true);
        await _app.StartSiloAsync();       // two silos again for the other tests
        await _app.WaitForClusterToSettle();

        // The room comes back on a live silo from the kit's shared storage, as it would from Redis.
        await ann.SendText("inc");
        Assert.Equal(new RoomValue(3, 3), await ann.ReceiveJson<RoomValue>());
        Assert.Contains(ann.PeerId, await _app.GetOpenPeers("/rooms"));
        _app.Logs.AssertNoErrorsSince(mark);
    }

    [Fact]
    public void The_unit_tests_fake_room_is_not_a_grain_of_the_cluster()
    {
        var classes = _app.Silos[0].ServiceProvider.GetRequiredService<IOptions<GrainTypeOptions>>().Value.Classes;
        Assert.Contains(typeof(RoomGrain), classes);
        Assert.DoesNotContain(CounterRoomsUnitTests.FakeRoomType, classes);
    }
}

/// <summary>The handler's hooks in memory, against a fake room.</summary>
public sealed class CounterRoomsUnitTests
{
    [Fact]
    public async Task A_change_is_sent_to_the_member_and_published_to_its_room()
    {
        var room = new FakeRoom();
        var grains = new FakeGrainFactory().Add<IRoomGrain>("r", room);
        var member = new HandlerHarness<CounterRoomsHandler, MemberState>("counter-rooms", create: () => new CounterRoomsHandler(grains));

        var opened = await member.Connect("/rooms?room=r");
        Assert.Equal(["r"], member.Topics);
        Assert.Equal("""{"value":0,"version":0}""", opened.Reply.Frames.Single().Text());

        var effects = await member.Receive("dec");
        Assert.Equal("""{"value":-1,"version":1}""", effects.Frames.Single().Text());
        Assert.Equal(("r", """{"value":-1,"version":1}"""), (member.Published.Single().Topic, member.Published.Single().Message.Text()));
    }

    internal static Type FakeRoomType => typeof(FakeRoom);

    // Private and nested: Orleans' code generator makes grains of public and internal classes that implement a grain
    // interface, even in a test project, and the kit's silos would load this one.
    private sealed class FakeRoom : IRoomGrain
    {
        private RoomValue _value = new(0, 0);

        public Task<RoomValue> Get() => Task.FromResult(_value);

        public Task<RoomValue> Add(int delta) => Task.FromResult(_value = new RoomValue(_value.Value + delta, _value.Version + 1));

        public Task<RoomValue> Reset() => Task.FromResult(_value = new RoomValue(0, _value.Version + 1));
    }
}
