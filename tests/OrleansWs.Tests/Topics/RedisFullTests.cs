using OrleansWs.Hosting;
using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;
using StackExchange.Redis;

namespace OrleansWs.Tests.Topics;

/// <summary>
/// A Redis that cannot take more (at maxmemory, which refuses writes) fails a publishing hook before its state is
/// written, through a real socket. Peer state stays in the kit's storage, so only the topic log is full.
/// </summary>
public sealed class RedisFullTests : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private Fixture? _fixture;

    private WebSocketTestApp App => _fixture!.App;

    private sealed class Fixture(RedisServer redis) : AppFixture
    {
        protected override void Configure(WebSocketTestAppOptions options)
        {
            var silo = options.ConfigureSilo;
            options.ConfigureSilo = s =>
            {
                silo?.Invoke(s);
                s.AddOrleansWsRedisTopics(redis.Options);
            };
        }
    }

    public async Task InitializeAsync()
    {
        await _redis.InitializeAsync();
        _fixture = new Fixture(_redis);
        await _fixture.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        if (_fixture is not null)
        {
            await _fixture.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task A_hook_that_publishes_while_Redis_is_full_fails_before_its_state_is_written_and_publishing_resumes_once_it_has_room()
    {
        var topic = AppExtensions.NewTag();
        var (subscriber, _) = await App.OpenRecording($"subscribe={topic}", gateway: 1);
        var (publisher, id) = await App.OpenRecording();
        await publisher.SendText($"addpub:kept:{topic}");
        Assert.Equal("items:kept", await publisher.ReceiveText());
        Assert.Equal("kept", await subscriber.ReceiveText());

        var options = _redis.Options;
        options.AllowAdmin = true;
        await using var admin = await ConnectionMultiplexer.ConnectAsync(options);
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        var mark = App.Logs.Mark();
        // Below what Redis already uses: with the default policy (noeviction) it refuses every write.
        await server.ConfigSetAsync("maxmemory", "1");
        await LoggedAfter(mark, "TopicLogFull");

        await publisher.PublishFailsBeforeItsWrite(id, topic);

        mark = App.Logs.Mark();
        await server.ConfigSetAsync("maxmemory", "0");
        await LoggedAfter(mark, "TopicLogRoom");
        var (again, _) = await App.OpenRecording();
        await again.SendText($"pub:{topic}:back");
        Assert.Equal("published", await again.ReceiveText());
        // The subscriber, connected throughout, hears the room again, and never the publish that failed.
        Assert.Equal("back", await subscriber.ReceiveText());
    }

    // The log checks Redis every second; this waits for what it says, not for a time.
    private async Task LoggedAfter(long mark, string eventName)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!App.Logs.Entries.Any(e => e.Sequence > mark && e.EventName == eventName))
        {
            Assert.True(DateTime.UtcNow < deadline, $"No {eventName} was logged.");
            await Task.Delay(50);
        }
    }
}
