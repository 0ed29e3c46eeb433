using OrleansWs.Silo.Demo;
using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

/// <summary>Handlers unit-tested without a cluster.</summary>
public sealed class HandlerHarnessTests
{
    [Fact]
    public async Task Chat_joins_its_room_on_open_and_publishes_to_the_others()
    {
        var chat = new HandlerHarness<ChatHandler, ChatState>("chat");
        var opened = await chat.Connect("/ws/chat?room=lobby");
        Assert.True(opened.Decision.Accepted);
        Assert.Equal([new TopicChange("lobby", true)], opened.Reply.TopicChanges);
        Assert.Equal(["lobby"], chat.Topics);
        Assert.Equal("lobby", chat.State.Room);
        Assert.True(chat.StateStored);

        await chat.Receive("hello");
        var published = Assert.Single(chat.Published);
        Assert.Equal("lobby", published.Topic);
        Assert.Equal("hello", published.Message.Text());
        Assert.Equal(chat.PeerId, published.ExcludedPeerId);
        Assert.Equal("/ws/chat", published.Namespace);

        await chat.Close();
        Assert.False(chat.StateStored);
        Assert.True(chat.Deactivated);
    }

    [Fact]
    public async Task The_crossws_demo_runs_in_the_harness_with_its_namespace_and_a_socket_error()
    {
        var demo = new HandlerHarness<Crossws.CrosswsDemoHandler, NoPeerState>("crosswsdemo");
        var opened = await demo.Connect("/room%20one?x=1");
        Assert.Equal("/room one", opened.Decision.Namespace);
        Assert.Equal([new("x-powered-by", "cross-ws"), new("set-cookie", "cross-ws=1; SameSite=None; Secure"), new("set-cookie", "demo=2")], opened.Decision.Headers);
        var joined = Assert.Single(demo.Published);
        Assert.Equal(("chat", $"{demo.PeerId} joined!", demo.PeerId, "/room one"), (joined.Topic, joined.Message.Text(), joined.ExcludedPeerId, joined.Namespace));

        var rejected = await new HandlerHarness<Crossws.CrosswsDemoHandler, NoPeerState>("crosswsdemo").Connect("/?unauthorized");
        Assert.Equal((false, 401, "Unauthorized"), (rejected.Decision.Accepted, rejected.Decision.Status, rejected.Decision.ReasonPhrase));

        await demo.Close(CloseCodes.MessageTooBig, "message over 1 bytes", wasClean: true, socketError: true);
        Assert.False(demo.StateStored);
    }

    [Fact]
    public async Task A_handler_that_calls_another_grain_runs_against_a_fake_one()
    {
        var counter = new FakeCounter();
        var grains = new FakeGrainFactory().Add<ICounterGrain>("r1", counter);
        var room = new HandlerHarness<CounterHandler, ChatState>("counter", create: () => new CounterHandler(grains));

        var opened = await room.Connect("/ws/counter?room=r1");
        Assert.Equal(["value 0"], opened.Reply.Frames.Select(f => f.Text()));
        var effects = await room.Receive("inc");
        Assert.Equal(["value 1"], effects.Frames.Select(f => f.Text()));
        Assert.Equal(1, counter.Value);
        Assert.Equal("value 1", room.Published.Single().Message.Text());

        // A grain the test gave no fake for: the hook fails (OnError, 1011), saying which fake to add.
        CounterHandler? made = null;
        var missing = new HandlerHarness<CounterHandler, ChatState>("counter", create: () => made = new CounterHandler(grains));
        Assert.Same(made, missing.Handler);
        var failed = await missing.Connect("/ws/counter?room=other");
        Assert.Equal(1011, failed.Reply.Close!.Code);

        var error = Assert.Throws<InvalidOperationException>(() => new HandlerHarness<CounterHandler, ChatState>());
        Assert.Contains("create:", error.Message);
    }

    private sealed class FakeCounter : ICounterGrain
    {
        public int Value { get; private set; }

        public Task<int> Get() => Task.FromResult(Value);

        public Task<int> Add(int delta) => Task.FromResult(Value += delta);

        public Task<int> Reset() => Task.FromResult(Value = 0);
    }

    [Fact]
    public async Task A_rejection_leaves_no_state()
    {
        var chat = new HandlerHarness<ChatHandler, ChatState>("chat");
        var opened = await chat.Connect("/ws/chat");
        Assert.False(opened.Decision.Accepted);
        Assert.Equal(400, opened.Decision.Status);
        Assert.False(chat.StateStored);
        Assert.Equal(0, chat.StateWrites);
        Assert.True(chat.Deactivated);
    }

    [Fact]
    public async Task State_is_written_only_when_a_hook_changed_it()
    {
        var peer = new HandlerHarness<RecordingHandler, RecordingState>("recording");
        var opened = await peer.Connect("/ws/rec", r => r.Header("X-Test", "1").User("ann"));
        Assert.Equal("welcome " + peer.PeerId, Assert.Single(opened.Reply.Frames).Text());
        var written = peer.StateWrites;

        await peer.Receive("items");
        Assert.Equal(written, peer.StateWrites);
        var reply = await peer.Receive("add:a");
        Assert.Equal(written + 1, peer.StateWrites);
        Assert.Equal("items:a", Assert.Single(reply.Frames).Text());
        Assert.Equal(["a"], peer.State.Items);

        var info = await peer.Receive("info");
        Assert.Equal("ann", Message.FromText(info.Frames[0].Text()).Json<PeerInfo>()!.User);
    }

    [Fact]
    public async Task A_throwing_hook_asks_for_a_1011_close()
    {
        var peer = new HandlerHarness<RecordingHandler, RecordingState>("recording");
        await peer.Connect("/ws/rec");
        var reply = await peer.Receive(Message.FromText("throw"), Message.FromText("never handled"));
        Assert.Equal(1011, reply.Close!.Code);
        Assert.Contains(HookLog.For(peer.PeerId), e => e.Hook == "error");
        Assert.DoesNotContain(HookLog.For(peer.PeerId), e => e.Argument is Message m && m.IsText && m.Text() == "never handled");
    }
}
