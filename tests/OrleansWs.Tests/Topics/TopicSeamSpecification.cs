using System.Collections.Concurrent;
using OrleansWs.Internal;

namespace OrleansWs.Tests.Topics;

/// <summary>
/// What every implementation of the topic seam (<see cref="ITopicPublisher"/> with <see cref="ITopicSubscriber"/>)
/// must do. Each implementation runs these through a class of its own that says how to make one.
/// </summary>
public abstract class TopicSeamSpecification : IAsyncLifetime
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private protected ITopicPublisher Publisher { get; private set; } = null!;

    private protected ITopicSubscriber Subscriber { get; private set; } = null!;

    /// <summary>Makes the implementation under test (and whatever it runs on).</summary>
    private protected abstract Task<(ITopicPublisher Publisher, ITopicSubscriber Subscriber)> Create();

    public abstract Task DisposeAsync();

    public async Task InitializeAsync() => (Publisher, Subscriber) = await Create();

    [Fact]
    public async Task Each_publish_gets_a_higher_position_and_Position_stands_between_them()
    {
        var topic = AppExtensions.NewTag();
        var first = await Publisher.Publish(topic, [Message.FromText("1")], default);
        var between = await Subscriber.Position(topic);
        var second = await Publisher.Publish(topic, [Message.FromText("2"), Message.FromText("3")], default);

        Assert.True(first < between, $"{first} < {between}");
        Assert.True(between <= second, $"{between} <= {second}");
        Assert.True(await Subscriber.Position(topic) > second);
    }

    [Fact]
    public async Task A_subscription_receives_its_topics_publishes_in_order_with_each_publishs_messages_together()
    {
        var topic = AppExtensions.NewTag();
        var receiver = new Receiver();
        await using var subscription = await Subscribed(topic, receiver);

        var positions = new List<TopicPosition>();
        for (var i = 0; i < 20; i++)
        {
            positions.Add(await Publisher.Publish(topic, [Message.FromText($"{i}a"), Message.FromText($"{i}b")], new PublishOptions("peer/" + i)));
        }

        var got = await receiver.WaitFor(m => m.Text == "19b");
        Assert.Equal(Enumerable.Range(0, 20).SelectMany(i => new[] { $"{i}a", $"{i}b" }), got.Select(r => r.Text));
        Assert.Equal(positions.SelectMany(p => new[] { p, p }), got.Select(r => r.Position));
        Assert.Equal(Enumerable.Range(0, 20).SelectMany(i => new[] { "peer/" + i, "peer/" + i }), got.Select(r => r.Excluded));
    }

    // Also the case a topic's first subscription meets when the topic was published to before: with
    // Orleans' cache alone, the stream queues failed every read of the topic's queue from then on.
    [Fact]
    public async Task A_subscription_from_a_position_receives_nothing_published_below_it()
    {
        var topic = AppExtensions.NewTag();
        for (var i = 0; i < 5; i++)
        {
            await Publisher.Publish(topic, [Message.FromText("before")], default);
        }

        var from = await Subscriber.Position(topic);
        var receiver = new Receiver();
        await using var subscription = await Subscribed(topic, receiver, from);
        await Publisher.Publish(topic, [Message.FromText("after")], default);

        var got = await receiver.WaitFor(m => m.Text == "after");
        Assert.DoesNotContain(got, r => r.Text == "before");
        Assert.All(got, r => Assert.True(r.Position >= from));
    }

    [Fact]
    public async Task A_subscription_receives_only_its_own_topic_and_nothing_once_unsubscribed()
    {
        var topic = AppExtensions.NewTag();
        var other = AppExtensions.NewTag();
        var leaving = new Receiver();
        var staying = new Receiver();
        var elsewhere = new Receiver();
        var left = await Subscribed(topic, leaving);
        await using var stays = await Subscribed(topic, staying);
        await using var apart = await Subscribed(other, elsewhere);

        await left.Unsubscribe();
        await Publisher.Publish(topic, [Message.FromText("after leaving")], default);
        await Publisher.Publish(other, [Message.FromText("other topic")], default);

        await staying.WaitFor(m => m.Text == "after leaving");
        await elsewhere.WaitFor(m => m.Text == "other topic");
        Assert.DoesNotContain(leaving.Received, r => r.Text == "after leaving");
        Assert.DoesNotContain(staying.Received, r => r.Text == "other topic");
        Assert.DoesNotContain(elsewhere.Received, r => r.Text == "after leaving");
    }

    [Fact]
    public async Task A_receiver_that_throws_is_fenced_and_the_others_carry_on()
    {
        var topic = AppExtensions.NewTag();
        var failing = new Receiver { ThrowOn = "boom" };
        var healthy = new Receiver();
        await using var fails = await Subscribed(topic, failing);
        await using var works = await Subscribed(topic, healthy);

        await Publisher.Publish(topic, [Message.FromText("boom")], default);
        await Publisher.Publish(topic, [Message.FromText("later")], default);

        await failing.Fenced.Task.WaitAsync(Timeout);
        var got = await healthy.WaitFor(m => m.Text == "later");
        Assert.Equal(["boom", "later"], got.Where(r => !r.Text.StartsWith("probe", StringComparison.Ordinal)).Select(r => r.Text));
        Assert.DoesNotContain(failing.Received, r => r.Text == "later");
    }

    // A subscription is in place when Subscribe returns, but an implementation may start delivering a
    // moment later: publish probes until one arrives, so the test's own publishes all count.
    private async Task<Subscription> Subscribed(string topic, Receiver receiver, TopicPosition? from = null)
    {
        var subscription = await Subscriber.Subscribe(topic, from ?? await Subscriber.Position(topic), receiver);
        for (var probe = 0; probe < 100; probe++)
        {
            var text = $"probe {probe}";
            await Publisher.Publish(topic, [Message.FromText(text)], default);
            if (await receiver.Saw(text, TimeSpan.FromMilliseconds(100)))
            {
                return new Subscription(subscription);
            }
        }

        throw new TimeoutException($"The subscription to {topic} from {from} delivered no probe; it got: {string.Join(", ", receiver.Received.Select(r => $"{r.Text}@{r.Position}"))}.");
    }

    private sealed class Subscription(ITopicSubscription subscription) : IAsyncDisposable
    {
        public Task Unsubscribe() => subscription.Unsubscribe();

        public async ValueTask DisposeAsync() => await subscription.Unsubscribe();
    }

    private sealed record Received(TopicPosition Position, string Text, string? Excluded);

    private sealed class Receiver : ITopicReceiver
    {
        private readonly ConcurrentQueue<Received> _received = new();
        private readonly SemaphoreSlim _arrived = new(0);

        public string? ThrowOn { get; init; }

        public TaskCompletionSource Fenced { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<Received> Received => [.. _received];

        public ValueTask OnPublished(TopicPosition position, TopicEvent published)
        {
            var text = published.Message.Text();
            _received.Enqueue(new Received(position, text, published.ExcludePeerId));
            _arrived.Release();
            if (text == ThrowOn)
            {
                throw new InvalidOperationException("a receiver bug");
            }

            return ValueTask.CompletedTask;
        }

        public void OnFenced() => Fenced.TrySetResult();

        public async Task<bool> Saw(string text, TimeSpan within)
        {
            var deadline = DateTime.UtcNow + within;
            while (!_received.Any(r => r.Text == text))
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !await _arrived.WaitAsync(left))
                {
                    return _received.Any(r => r.Text == text);
                }
            }

            return true;
        }

        // What arrived up to and including the first message that matches, probes left out.
        public async Task<IReadOnlyList<Received>> WaitFor(Func<Received, bool> last)
        {
            var deadline = DateTime.UtcNow + Timeout;
            while (!_received.Any(last))
            {
                var left = deadline - DateTime.UtcNow;
                Assert.True(left > TimeSpan.Zero && await _arrived.WaitAsync(left), "The message did not arrive in time.");
            }

            var all = _received.ToList();
            return all.Take(all.FindIndex(r => last(r)) + 1).Where(r => !r.Text.StartsWith("probe", StringComparison.Ordinal)).ToList();
        }
    }
}
