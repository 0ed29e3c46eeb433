using Microsoft.Extensions.Logging.Abstractions;
using OrleansWs.Internal;

namespace OrleansWs.Tests.Topics;

/// <summary>The gateway's fan-out and its join fence over a fake subscriber side of the topic seam.</summary>
public sealed class TopicFanoutTests
{
    // A subscriber side whose deliveries the test makes by hand; Position answers what the test sets.
    private sealed class FakeSubscriber : ITopicSubscriber
    {
        public Dictionary<string, (TopicPosition From, ITopicReceiver Receiver)> Subscriptions { get; } = [];

        public List<string> Unsubscribed { get; } = [];

        public TopicPosition Now { get; set; } = new(100);

        public Task<TopicPosition> Position(string topic) => Task.FromResult(Now);

        public Task<ITopicSubscription> Subscribe(string topic, TopicPosition from, ITopicReceiver receiver)
        {
            Subscriptions[topic] = (from, receiver);
            return Task.FromResult<ITopicSubscription>(new Subscription(this, topic));
        }

        public void Publish(string topic, long position, string text, string? exclude = null) =>
            _ = Subscriptions[topic].Receiver.OnPublished(new TopicPosition(position), new TopicEvent(Message.FromText(text), exclude));

        private sealed class Subscription(FakeSubscriber owner, string topic) : ITopicSubscription
        {
            public Task Unsubscribe()
            {
                owner.Unsubscribed.Add(topic);
                owner.Subscriptions.Remove(topic);
                return Task.CompletedTask;
            }
        }
    }

    private sealed class Member(string peerId, string @namespace = "/ws") : ITopicMember
    {
        public string PeerId { get; } = peerId;

        public string Namespace { get; } = @namespace;

        public bool Closing { get; set; }

        public List<string> Got { get; } = [];

        public (int Code, string Reason)? Closed { get; private set; }

        public void Deliver(Message message, string topic, TopicPosition position, int index) => Got.Add(message.Text());

        public void Close(int code, string reason) => Closed = (code, reason);
    }

    private readonly FakeSubscriber _bus = new();
    private readonly TopicFanout<Member> _fanout;

    public TopicFanoutTests() => _fanout = new TopicFanout<Member>(_bus, NullLogger.Instance);

    [Fact]
    public async Task A_member_gets_publishes_from_where_the_topic_stood_when_it_joined_and_never_its_own()
    {
        var ann = new Member("p/ann");
        var bob = new Member("p/bob");
        await _fanout.Subscribe("room", ann);
        Assert.Equal(TopicPosition.Start, _bus.Subscriptions["room"].From);
        _bus.Now = new TopicPosition(105);
        await _fanout.Subscribe("room", bob);

        _bus.Publish("room", 101, "before bob joined");
        _bus.Publish("room", 105, "from bob", exclude: "p/bob");
        _bus.Publish("room", 106, "to all");

        Assert.Equal(["before bob joined", "from bob", "to all"], ann.Got);
        Assert.Equal(["to all"], bob.Got);
        Assert.Equal(2, _fanout.Members("room"));
    }

    [Fact]
    public async Task Joining_again_keeps_the_first_position()
    {
        var ann = new Member("p/ann");
        await _fanout.Subscribe("room", ann);
        _bus.Now = new TopicPosition(200);
        await _fanout.Subscribe("room", ann);

        _bus.Publish("room", 150, "in flight between the joins");
        Assert.Equal(["in flight between the joins"], ann.Got);
    }

    [Fact]
    public async Task The_last_member_to_leave_drops_the_subscription_and_a_released_member_cannot_rejoin()
    {
        var ann = new Member("p/ann");
        var bob = new Member("p/bob");
        await _fanout.Subscribe("a", ann);
        await _fanout.Subscribe("b", ann);
        await _fanout.Subscribe("a", bob);

        _fanout.Release(ann);
        Assert.Equal(["b"], _bus.Unsubscribed);
        Assert.Equal(["a"], _fanout.Topics);
        Assert.Equal(1, _fanout.Members("a"));

        bob.Closing = true;
        await _fanout.Subscribe("c", bob);
        Assert.DoesNotContain("c", _fanout.Topics);
        _fanout.Unsubscribe("a", bob);
        Assert.Empty(_fanout.Topics);
        Assert.Equal(["b", "a"], _bus.Unsubscribed);
    }

    [Fact]
    public async Task A_fenced_topic_closes_its_members_and_goes()
    {
        var ann = new Member("p/ann");
        var elsewhere = new Member("p/cid");
        await _fanout.Subscribe("room", ann);
        await _fanout.Subscribe("other", elsewhere);

        _bus.Subscriptions["room"].Receiver.OnFenced();

        Assert.Equal(CloseCodes.TryAgainLater, ann.Closed?.Code);
        Assert.Null(elsewhere.Closed);
        Assert.Equal(0, _fanout.Members("room"));
        Assert.Equal(["room"], _bus.Unsubscribed);
    }
}
