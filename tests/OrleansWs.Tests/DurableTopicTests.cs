using Microsoft.Extensions.DependencyInjection;
using OrleansWs.Internal;
using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

/// <summary>
/// Topics on a log: an acknowledged publish survives the silo that held its partition, a hook's publishes are not split
/// from its state, and a log that cannot take them fails the hook before its state is written. Two silos share one log
/// (as a scaled cluster's silos share Redis), which a test can make fail.
/// </summary>
public sealed class DurableTopicTests : IAsyncLifetime
{
    private readonly FaultyTopicLog _log = new(new MemoryTopicLog());
    private readonly Fixture _fixture;
    private WebSocketTestApp _app = null!;

    public DurableTopicTests() => _fixture = new Fixture(_log);

    private sealed class Fixture(FaultyTopicLog log) : TwoSilosFixture
    {
        protected override void Configure(WebSocketTestAppOptions options)
        {
            base.Configure(options);
            var silo = options.ConfigureSilo;
            options.ConfigureSilo = s =>
            {
                silo?.Invoke(s);
                s.Services.AddSingleton<ITopicLog>(log);
            };
        }
    }

    public async Task InitializeAsync()
    {
        await _fixture.InitializeAsync();
        _app = _fixture.App;
    }

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task A_silo_killed_under_a_room_loses_no_publish_its_hook_was_told_of_and_shows_none_twice()
    {
        var room = AppExtensions.NewTag();
        var partition = _app.Cluster.Client.ServiceProvider.GetRequiredService<TopicPartitions>()
            .QueueOf(_app.Cluster.Client, StreamId.Create(OrleansWsNames.TopicNamespace, room));
        var subscribers = new List<TestClient>();
        for (var i = 0; i < 6; i++)
        {
            var (client, _) = await _app.OpenRecording($"subscribe={room}", gateway: i % 2);
            subscribers.Add(client);
        }

        // The partition's silo dies halfway; the publisher lives on the other one.
        await partition.Position();
        var victim = _app.SiloOf(partition.GetGrainId())!;
        var (publisher, _) = await OpenOn(silo => silo != victim);
        var acknowledged = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            if (i == 20)
            {
                await _app.KillSiloAsync(victim);
            }

            await publisher.SendText($"pub:{room}:m{i}");
            Assert.Equal("published", await publisher.ReceiveText(TimeSpan.FromSeconds(30)));
            acknowledged.Add($"m{i}");
        }

        foreach (var subscriber in subscribers)
        {
            var got = new List<string>();
            while (got.Count < acknowledged.Count)
            {
                got.Add(await subscriber.ReceiveText(TimeSpan.FromSeconds(30)));
            }

            Assert.Equal(acknowledged, got);
            await subscriber.ExpectNoMessage(TimeSpan.FromMilliseconds(300));
        }
    }

    [Fact]
    public async Task A_hook_whose_publish_failed_after_its_write_has_it_released_from_the_record_once()
    {
        var (first, second) = (AppExtensions.NewTag(), AppExtensions.NewTag());
        var (a, _) = await _app.OpenRecording($"subscribe={first}", gateway: 0);
        var (b, _) = await _app.OpenRecording($"subscribe={second}", gateway: 1);
        var (publisher, id) = await _app.OpenRecording();
        _log.FailNextAppend(second);

        // The first publish is in the log, the second failed: the call fails (1011), and the close that follows reads
        // the record, whose outbox still holds both, and releases them again: the second leaves, the first does not.
        await publisher.SendText($"addpub:x:{first},{second}");
        await publisher.ExpectClose(1011);
        Assert.Equal("x", await a.ReceiveText());
        Assert.Equal("x", await b.ReceiveText());
        await HookLog.WaitFor(id, "close");
        await a.ExpectNoMessage(TimeSpan.FromMilliseconds(300));
        await b.ExpectNoMessage(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_send_in_an_outbox_leaves_from_the_record_when_its_call_failed_and_is_shown_once()
    {
        var topic = AppExtensions.NewTag();
        var (target, targetId) = await _app.OpenRecording(gateway: 1);
        var (subscriber, _) = await _app.OpenRecording($"subscribe={topic}", gateway: 0);

        // The publish failed before the send left: the close releases the outbox, and the send leaves after the publish.
        var (first, firstId) = await _app.OpenRecording();
        _log.FailNextAppend(topic);
        await first.SendText($"addpub:x:{topic},@{targetId}");
        await first.ExpectClose(1011);
        await HookLog.WaitFor(firstId, "close");
        Assert.Equal("x", await subscriber.ReceiveText());
        Assert.Equal("x", await target.ReceiveText());

        // The send left, the publish after it failed: released again, the send is not shown twice.
        var (second, secondId) = await _app.OpenRecording();
        _log.FailNextAppend(topic);
        await second.SendText($"addpub:y:@{targetId},{topic}");
        await second.ExpectClose(1011);
        await HookLog.WaitFor(secondId, "close");
        Assert.Equal("y", await target.ReceiveText());
        Assert.Equal("y", await subscriber.ReceiveText());
        await target.ExpectNoMessage(TimeSpan.FromMilliseconds(300));
        await subscriber.ExpectNoMessage(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_peer_whose_activation_ended_in_order_does_not_send_its_last_outbox_again()
    {
        var (target, targetId) = await _app.OpenRecording(gateway: 1);
        var (publisher, publisherId) = await _app.OpenRecording();
        await publisher.SendText($"addpub:x:@{targetId}");
        Assert.Equal("items:x", await publisher.ReceiveText());
        Assert.Equal("x", await target.ReceiveText());

        // More writes' sends than the target's gateway remembers, so only the record can keep the first from leaving again.
        var (other, _) = await _app.OpenRecording();
        for (var i = 0; i < 20; i++)
        {
            await other.SendText($"addpub:o{i}:@{targetId}");
            Assert.StartsWith("items:", await other.ReceiveText());
            Assert.Equal($"o{i}", await target.ReceiveText());
        }

        // Collected while idle: the next call reads the record afresh.
        await _app.Deactivate(publisherId);
        await _app.WaitForDeactivation(publisherId);
        await publisher.SendText("items");
        Assert.Equal("items:x", await publisher.ReceiveText());
        await target.ExpectNoMessage(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_hook_that_publishes_while_the_log_is_unreachable_fails_before_its_state_is_written()
    {
        var topic = AppExtensions.NewTag();
        var (subscriber, _) = await _app.OpenRecording($"subscribe={topic}", gateway: 1);
        var (publisher, id) = await _app.OpenRecording();
        await publisher.SendText("add:kept");
        Assert.Equal("items:kept", await publisher.ReceiveText());

        _log.Writable = false;
        try
        {
            await publisher.PublishFailsBeforeItsWrite(id, topic);

            // Peers that do not publish carry on.
            await using var echo = await _app.Connect("/ws/echo");
            await echo.SendText("still here");
            Assert.Equal("still here", await echo.ReceiveText());
        }
        finally
        {
            _log.Writable = true;
        }

        await subscriber.ExpectNoMessage(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_gateway_whose_stream_subscription_Orleans_dropped_catches_up_from_the_history_and_subscribes_anew()
    {
        var topic = AppExtensions.NewTag();
        var (subscriber, _) = await _app.OpenRecording($"subscribe={topic}", gateway: 1);
        var (publisher, _) = await _app.OpenRecording(gateway: 0);
        await publisher.SendText($"pub:{topic}:before");
        Assert.Equal("published", await publisher.ReceiveText());
        Assert.Equal("before", await subscriber.ReceiveText());

        // What a pulling agent does to a gateway it takes for gone: the stream subscription ends, and nobody is told.
        var mark = _app.Logs.Mark();
        var stream = _app.Cluster.Client.GetStreamProvider(OrleansWsNames.StreamProvider)
            .GetStream<TopicEvent>(StreamId.Create(OrleansWsNames.TopicNamespace, topic));
        foreach (var handle in await stream.GetAllSubscriptionHandles())
        {
            await handle.UnsubscribeAsync();
        }

        foreach (var i in Enumerable.Range(0, 3))
        {
            await publisher.SendText($"pub:{topic}:m{i}");
            Assert.Equal("published", await publisher.ReceiveText());
        }

        Assert.Equal(["m0", "m1", "m2"], [await subscriber.ReceiveText(), await subscriber.ReceiveText(), await subscriber.ReceiveText()]);
        Assert.Contains(_app.Logs.Entries, e => e.Sequence > mark && e.EventName == "TopicStalled");

        // Caught up again with no stream delivery in between: the gateway subscribes anew, and what follows comes
        // through the stream again, once.
        await publisher.SendText($"pub:{topic}:again");
        Assert.Equal("published", await publisher.ReceiveText());
        Assert.Equal("again", await subscriber.ReceiveText());
        Assert.Contains(_app.Logs.Entries, e => e.Sequence > mark && e.EventName == "TopicRenewed");
        await publisher.SendText($"pub:{topic}:after");
        Assert.Equal("published", await publisher.ReceiveText());
        Assert.Equal("after", await subscriber.ReceiveText());
        await subscriber.ExpectNoMessage(TimeSpan.FromMilliseconds(500));
    }

    private async Task<(TestClient Client, string Id)> OpenOn(Func<Orleans.TestingHost.InProcessSiloHandle, bool> silo)
    {
        for (var i = 0; i < 50; i++)
        {
            var (client, id) = await _app.OpenRecording();
            if (silo(_app.SiloOf(id)!))
            {
                return (client, id);
            }

            await client.DisposeAsync();
        }

        throw new InvalidOperationException("No peer landed on the silo asked for in 50 tries.");
    }
}

/// <summary>A topic log that fails on request: an append of a named topic once, or every append while not writable.</summary>
internal sealed class FaultyTopicLog(ITopicLog inner) : ITopicLog
{
    private readonly HashSet<string> _failNext = [];

    public bool Writable { get; set; } = true;

    public void FailNextAppend(string topic)
    {
        lock (_failNext)
        {
            _failNext.Add(topic);
        }
    }

    public Task<TopicAppended> Append(uint partition, string topic, TopicEvent[] events, EffectId? id = null)
    {
        lock (_failNext)
        {
            if (!Writable || _failNext.Remove(topic))
            {
                throw new InvalidOperationException($"The test's topic log refused an append of {topic}.");
            }
        }

        return inner.Append(partition, topic, events, id);
    }

    public Task<TopicBatch[]> Read(uint partition, TopicPosition after, int max, TimeSpan wait, CancellationToken cancellationToken) =>
        inner.Read(partition, after, max, wait, cancellationToken);

    public Task<TopicPosition> End(uint partition) => inner.End(partition);

    public Task<TopicHistoryRead> History(string topic, TopicPosition after, int max) => inner.History(topic, after, max);

    public Task<TopicPosition[]> Last(IReadOnlyList<string> topics) => inner.Last(topics);

    public Task<TopicPosition?> Checkpoint(uint partition) => inner.Checkpoint(partition);

    public Task SaveCheckpoint(uint partition, TopicPosition position) => inner.SaveCheckpoint(partition, position);
}
