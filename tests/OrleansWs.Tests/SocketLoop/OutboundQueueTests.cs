using System.Net.WebSockets;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansWs.Gateway;

namespace OrleansWs.Tests.SocketLoop;

/// <summary>The send side of the socket loop over a fake socket: order, one writer, the byte cap, the close frame.</summary>
public sealed class OutboundQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static OutboundQueue Queue(long maxBytes = 1 << 20) => new(maxBytes, NullLogger.Instance, "test/peer");

    private static CloseRequest CloseBy(int code, string reason, bool dropQueued = false, bool terminate = false) =>
        new(code, reason, ByServer: true, dropQueued, terminate);

    [Fact]
    public async Task Nothing_is_written_before_Start_and_then_everything_in_order()
    {
        var socket = new FakeWebSocket();
        var queue = Queue();
        Assert.True(queue.TryEnqueue(Message.FromText("a")));
        Assert.True(queue.TryEnqueue(Message.FromBytes([1, 2])));
        Assert.Empty(socket.Sent);
        Assert.True(queue.BufferedAmount > 0);

        queue.Start(socket);
        queue.TryEnqueue(Message.FromText("c"));
        queue.Close(CloseBy(CloseCodes.Normal, "bye"));
        await queue.Ended().WaitAsync(Timeout);

        Assert.Equal([WebSocketMessageType.Text, WebSocketMessageType.Binary, WebSocketMessageType.Text], socket.Sent.Select(s => s.Type));
        Assert.Equal(["a", "\u0001\u0002", "c"], socket.SentTexts);
        Assert.Equal((WebSocketCloseStatus.NormalClosure, "bye"), socket.CloseSent);
        Assert.Equal(0, queue.BufferedAmount);
    }

    [Fact]
    public async Task Senders_on_many_threads_get_one_writer_at_a_time_and_keep_their_order()
    {
        var socket = new FakeWebSocket { YieldOnWrite = true };
        var queue = Queue();
        queue.Start(socket);
        const int Threads = 4, PerThread = 500;
        using var start = new Barrier(Threads);
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < PerThread; i++)
            {
                Assert.True(queue.TryEnqueue(Message.FromText($"{t}:{i}")));
            }
        })));
        queue.Close(CloseBy(CloseCodes.Normal, ""));
        await queue.Ended().WaitAsync(Timeout);

        Assert.Equal(1, socket.MaxConcurrentWrites);
        var sent = socket.SentTexts.Select(s => s.Split(':')).ToList();
        Assert.Equal(Threads * PerThread, sent.Count);
        for (var t = 0; t < Threads; t++)
        {
            Assert.Equal(Enumerable.Range(0, PerThread), sent.Where(s => s[0] == t.ToString()).Select(s => int.Parse(s[1])));
        }
    }

    [Fact]
    public void A_message_that_would_pass_the_byte_cap_is_refused_and_not_counted()
    {
        var socket = new FakeWebSocket { Hold = new() };
        var queue = Queue(maxBytes: 1000);
        queue.Start(socket);
        Assert.True(queue.TryEnqueue(Message.FromBytes(new byte[400]))); // being written: no longer queued
        Assert.True(queue.TryEnqueue(Message.FromBytes(new byte[400])));
        Assert.True(queue.TryEnqueue(Message.FromBytes(new byte[400])));
        var before = queue.BufferedAmount;
        Assert.Equal(2 * (400 + 64), before);

        Assert.False(queue.TryEnqueue(Message.FromBytes(new byte[400])));
        Assert.Equal(before, queue.BufferedAmount);
        Assert.True(queue.TryEnqueue(Message.FromBytes([])));
    }

    [Fact]
    public async Task A_close_that_drops_the_queue_writes_no_more_frames_but_the_close_frame()
    {
        var hold = new TaskCompletionSource();
        var socket = new FakeWebSocket { Hold = hold };
        var queue = Queue();
        queue.Start(socket);
        queue.TryEnqueue(Message.FromText("in flight"));
        queue.TryEnqueue(Message.FromText("dropped 1"));
        queue.TryEnqueue(Message.FromText("dropped 2"));

        queue.Close(CloseBy(CloseCodes.TryAgainLater, "send queue overflow", dropQueued: true));
        socket.Hold = null;
        hold.SetResult();
        await queue.Ended().WaitAsync(Timeout);

        Assert.Equal(["in flight"], socket.SentTexts);
        Assert.Equal(((WebSocketCloseStatus)CloseCodes.TryAgainLater, "send queue overflow"), socket.CloseSent);
    }

    [Fact]
    public async Task A_terminate_sends_no_close_frame_and_only_the_first_close_counts()
    {
        var socket = new FakeWebSocket();
        var queue = Queue();
        queue.Start(socket);
        queue.Close(CloseBy(CloseCodes.Abnormal, "", dropQueued: true, terminate: true));
        queue.Close(CloseBy(CloseCodes.Normal, "too late"));
        queue.TryEnqueue(Message.FromText("after the end"));
        await queue.Ended().WaitAsync(Timeout);

        Assert.Empty(socket.Sent);
        Assert.Null(socket.CloseSent);
    }

    [Fact]
    public async Task A_drain_wait_completes_when_the_queue_empties_and_fails_on_timeout_or_when_the_socket_ends()
    {
        var hold = new TaskCompletionSource();
        var socket = new FakeWebSocket { Hold = hold };
        var queue = Queue();
        queue.Start(socket);
        queue.TryEnqueue(Message.FromText("in flight"));
        queue.TryEnqueue(Message.FromText("queued"));
        Assert.True(await queue.WaitForDrain(threshold: 1000, TimeSpan.FromSeconds(1)));

        var drained = queue.WaitForDrain(threshold: 0, Timeout);
        Assert.False(await queue.WaitForDrain(threshold: 0, TimeSpan.FromMilliseconds(50)));
        Assert.False(drained.IsCompleted);
        socket.Hold = null;
        hold.SetResult();
        Assert.True(await drained.WaitAsync(Timeout));

        var stuck = new FakeWebSocket { Hold = new() };
        var ending = Queue();
        ending.Start(stuck);
        ending.TryEnqueue(Message.FromText("in flight"));
        ending.TryEnqueue(Message.FromText("queued"));
        var waiting = ending.WaitForDrain(threshold: 0, Timeout);
        stuck.Abort();
        ending.Close(CloseBy(CloseCodes.Abnormal, "", dropQueued: true, terminate: true));
        stuck.Hold.SetException(new WebSocketException(WebSocketError.ConnectionClosedPrematurely));
        Assert.False(await waiting.WaitAsync(Timeout));
    }
}
