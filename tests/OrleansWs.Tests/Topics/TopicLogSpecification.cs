using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Runtime;
using Orleans.Serialization;
using Microsoft.Extensions.DependencyInjection;
using OrleansWs.Internal;
using OrleansWs.Topics;

namespace OrleansWs.Tests.Topics;

/// <summary>What every topic log (<see cref="ITopicLog"/>) must do; each implementation runs these through a class of its own.</summary>
public abstract class TopicLogSpecification : IAsyncLifetime
{
    private protected static readonly TopicLogLimits Limits = new(PartitionLength: 1000, HistoryCount: 5, HistoryAge: TimeSpan.FromMinutes(1));

    private protected ITopicLog Log { get; private set; } = null!;

    private protected abstract Task<ITopicLog> Create();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    public async Task InitializeAsync() => Log = await Create();

    private static TopicEvent[] Events(params string[] texts) =>
        [.. texts.Select((t, i) => new TopicEvent(Message.FromText(t), "peer/1", EndOfPublish: i == texts.Length - 1))];

    private static uint NewPartition() => (uint)Random.Shared.Next(1_000_000, int.MaxValue);

    [Fact]
    public async Task Positions_rise_per_partition_and_each_publish_names_its_topics_previous_one()
    {
        var partition = NewPartition();
        var (a, b) = (AppExtensions.NewTag(), AppExtensions.NewTag());
        var first = (await Log.Append(partition, a, Events("1"))).Batch!;
        var other = (await Log.Append(partition, b, Events("x"))).Batch!;
        var second = (await Log.Append(partition, a, Events("2", "3"))).Batch!;

        Assert.True(first.Token.SequenceNumber < other.Token.SequenceNumber && other.Token.SequenceNumber < second.Token.SequenceNumber);
        Assert.Equal(TopicEvent.None, first.Events[0].Previous);
        Assert.Equal(first.Token.SequenceNumber, second.Events[0].Previous);
        Assert.Equal(new TopicPosition(second.Token.SequenceNumber), await Log.End(partition));
        Assert.Equal(["2", "3"], second.Events.Select(e => e.Message.Text()));
    }

    [Fact]
    public async Task A_read_returns_what_follows_a_position_and_waits_for_the_next_append()
    {
        var partition = NewPartition();
        var topic = AppExtensions.NewTag();
        var first = (await Log.Append(partition, topic, Events("1"))).Batch!;
        var all = await Log.Read(partition, TopicPosition.Start, 10, TimeSpan.Zero, CancellationToken.None);
        Assert.Equal(["1"], all.Select(b => b.Events[0].Message.Text()));
        Assert.Equal(topic, all[0].StreamId.GetKeyAsString());

        var after = new TopicPosition(first.Token.SequenceNumber);
        Assert.Empty(await Log.Read(partition, after, 10, TimeSpan.Zero, CancellationToken.None));
        var waiting = Log.Read(partition, after, 10, TimeSpan.FromSeconds(30), CancellationToken.None);
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);
        await Log.Append(partition, topic, Events("2"));
        var next = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["2"], next.Select(b => b.Events[0].Message.Text()));
        Assert.Equal(first.Token.SequenceNumber, next[0].Events[0].Previous);
    }

    [Fact]
    public async Task An_append_with_an_id_happens_once_however_often_it_is_asked()
    {
        var partition = NewPartition();
        var topic = AppExtensions.NewTag();
        var write = Guid.NewGuid();
        var publisher = "peer/" + AppExtensions.NewTag();
        var a = await Log.Append(partition, topic, Events("a"), new EffectId(publisher, write, 0));
        var b = await Log.Append(partition, topic, Events("b"), new EffectId(publisher, write, 1));
        Assert.NotNull(a.Batch);
        Assert.NotNull(b.Batch);

        // Asked again: not appended, and the earlier append's position, so that a publisher can wait for it again.
        var again = await Log.Append(partition, topic, Events("a"), new EffectId(publisher, write, 0));
        Assert.Null(again.Batch);
        Assert.Equal(a.Position, again.Position);
        Assert.Equal(b.Position, (await Log.Append(partition, topic, Events("b"), new EffectId(publisher, write, 1))).Position);
        Assert.NotNull((await Log.Append(partition, topic, Events("c"), new EffectId(publisher, Guid.NewGuid(), 0))).Batch);

        var read = await Log.Read(partition, TopicPosition.Start, 10, TimeSpan.Zero, CancellationToken.None);
        Assert.Equal(["a", "b", "c"], read.Select(b => b.Events[0].Message.Text()));
    }

    [Fact]
    public async Task A_topics_history_is_read_from_a_position_and_says_when_it_lost_some()
    {
        var partition = NewPartition();
        var topic = AppExtensions.NewTag();
        var positions = new List<TopicPosition>();
        for (var i = 0; i < 8; i++)
        {
            await Log.Append(partition, AppExtensions.NewTag(), Events("other"));
            positions.Add((await Log.Append(partition, topic, Events($"{i}"))).Position);
        }

        // It keeps the last five: from the fourth on nothing is lost.
        var recent = await Log.History(topic, positions[2], 10);
        Assert.False(recent.Truncated);
        Assert.Equal(["3", "4", "5", "6", "7"], recent.Publishes.Select(p => p.Events[0].Message.Text()));
        Assert.Equal(positions[2].Value, recent.Publishes[0].Events[0].Previous);

        var old = await Log.History(topic, positions[0], 2);
        Assert.True(old.Truncated);
        Assert.Equal(["3", "4"], old.Publishes.Select(p => p.Events[0].Message.Text()));

        Assert.True((await Log.History(topic, TopicPosition.Start, 10)).Truncated);
        Assert.Empty((await Log.History(topic, positions[7], 10)).Publishes);
        Assert.False((await Log.History(topic, positions[7], 10)).Truncated);
        Assert.Empty((await Log.History(AppExtensions.NewTag(), TopicPosition.Start, 10)).Publishes);

        // The chain outlives what the history keeps: the next publish still names the last one.
        var next = (await Log.Append(partition, topic, Events("8"))).Batch!;
        Assert.Equal(positions[7].Value, next.Events[0].Previous);
    }

    [Fact]
    public async Task A_join_marker_is_in_its_partition_but_not_in_its_topics_history_or_chain()
    {
        var partition = NewPartition();
        var topic = AppExtensions.NewTag();
        var first = await Log.Append(partition, topic, Events("1"));
        var marker = await Log.Append(partition, topic, [new TopicEvent(Message.FromBytes([]), null, Marker: Guid.NewGuid())]);
        var second = await Log.Append(partition, topic, Events("2"));

        Assert.True(first.Position < marker.Position && marker.Position < second.Position);
        Assert.Equal(first.Position.Value, second.Batch!.Events[0].Previous);
        Assert.Equal(["1", "2"], (await Log.History(topic, TopicPosition.Start, 10)).Publishes.Select(p => p.Events[0].Message.Text()));
        Assert.Equal(3, (await Log.Read(partition, TopicPosition.Start, 10, TimeSpan.Zero, CancellationToken.None)).Length);
    }

    [Fact]
    public async Task Topic_names_are_kept_as_they_are()
    {
        var partition = NewPartition();
        foreach (var topic in new[] { "a:b", "{x}", "room with spaces", "ünï/cödé?*", new string('t', 1000), "p:1", "t:" })
        {
            var name = topic + AppExtensions.NewTag();
            await Log.Append(partition, name, Events(name));
            var history = await Log.History(name, TopicPosition.Start, 10);
            Assert.Equal([name], history.Publishes.Select(p => p.Events[0].Message.Text()));
            Assert.Equal(name, history.Publishes[0].StreamId.GetKeyAsString());
        }
    }

    [Fact]
    public async Task A_checkpoint_only_moves_forward()
    {
        var partition = NewPartition();
        Assert.Null(await Log.Checkpoint(partition));
        var (low, high) = (RedisTopicLog.Position("1700000000000-1"), RedisTopicLog.Position("1700000000001-0"));
        await Log.SaveCheckpoint(partition, high);
        await Log.SaveCheckpoint(partition, low);
        Assert.Equal(high, await Log.Checkpoint(partition));
    }
}

public sealed class MemoryTopicLogTests : TopicLogSpecification
{
    private protected override Task<ITopicLog> Create() => Task.FromResult<ITopicLog>(new MemoryTopicLog(Limits, TimeProvider.System));
}

public sealed class RedisTopicLogTests(RedisServer redis) : TopicLogSpecification, IClassFixture<RedisServer>
{
    private ServiceProvider? _services;

    private protected override Task<ITopicLog> Create()
    {
        _services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        return Task.FromResult<ITopicLog>(new RedisTopicLog(redis.Options, $"ows:{AppExtensions.NewTag()}:", Limits, _services.GetRequiredService<Serializer>(), NullLogger<RedisTopicLog>.Instance));
    }

    public override async Task DisposeAsync()
    {
        ((IDisposable)Log).Dispose();
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
    }

    [Fact]
    public void Positions_are_entry_ids_and_back()
    {
        Assert.Equal("(1700000000000-3", RedisTopicLog.Exclusive(RedisTopicLog.Position("1700000000000-3")));
        Assert.True(RedisTopicLog.Position("1700000000000-3") < RedisTopicLog.Position("1700000000001-0"));
        Assert.Equal("-", RedisTopicLog.Exclusive(TopicPosition.Start));
    }
}
