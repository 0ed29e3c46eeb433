using OrleansWs.Gateway;

namespace OrleansWs.Tests.SocketLoop;

/// <summary>The grain side of the socket loop over a fake target: order, batching, the bounded queue.</summary>
public sealed class InboundDispatcherTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    // Records each batch; while Hold is set, a delivery waits for it (a busy grain).
    private sealed class Target : IInboundTarget
    {
        private readonly Lock _lock = new();
        private readonly List<string[]> _batches = [];

        public TaskCompletionSource? Hold { get; set; }

        public TaskCompletionSource Delivering { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Fail { get; set; }

        public bool Accepting { get; set; } = true;

        public IReadOnlyList<string[]> Batches
        {
            get
            {
                lock (_lock)
                {
                    return [.. _batches];
                }
            }
        }

        private (int Count, TaskCompletionSource Reached)? _waiter;

        /// <summary>Completes once batches holding <paramref name="count"/> messages in all have been delivered.</summary>
        public Task Received(int count)
        {
            lock (_lock)
            {
                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiter = (count, reached);
                Check();
                return reached.Task;
            }
        }

        private void Check()
        {
            if (_waiter is { } waiter && _batches.Sum(b => b.Length) >= waiter.Count)
            {
                waiter.Reached.TrySetResult();
            }
        }

        public async ValueTask<bool> Deliver(Message[] batch)
        {
            lock (_lock)
            {
                _batches.Add(batch.Select(m => m.Text()).ToArray());
                Check();
            }

            Delivering.TrySetResult();
            if (Hold is { } hold)
            {
                await hold.Task.WaitAsync(Timeout);
            }

            return !Fail;
        }
    }

    private static WebSocketGatewayOptions Options(int maxBatch = 256, int maxInboundQueue = 1024) =>
        new() { MaxBatch = maxBatch, MaxInboundQueue = maxInboundQueue };

    private static async Task EnqueueTexts(InboundDispatcher dispatcher, IEnumerable<int> numbers)
    {
        foreach (var i in numbers)
        {
            await dispatcher.Enqueue(Message.FromText(i.ToString()));
        }
    }

    [Fact]
    public async Task What_arrives_while_a_delivery_is_in_flight_goes_next_as_one_batch_in_order()
    {
        var target = new Target { Hold = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        var dispatcher = new InboundDispatcher(target, Options());
        await EnqueueTexts(dispatcher, [0]);
        dispatcher.Start();
        await target.Delivering.Task.WaitAsync(Timeout);

        await EnqueueTexts(dispatcher, Enumerable.Range(1, 10));
        dispatcher.Start(); // the delivery is in flight: this starts nothing
        var hold = target.Hold;
        target.Hold = null;
        hold.SetResult();
        await WaitDrained(dispatcher, target, 11);

        Assert.Equal([["0"], Enumerable.Range(1, 10).Select(i => i.ToString()).ToArray()], target.Batches);
    }

    [Fact]
    public async Task A_batch_holds_at_most_MaxBatch_messages()
    {
        var target = new Target();
        var dispatcher = new InboundDispatcher(target, Options(maxBatch: 4));
        await EnqueueTexts(dispatcher, Enumerable.Range(0, 10));
        dispatcher.Start();
        await WaitDrained(dispatcher, target, 10);

        Assert.Equal([4, 4, 2], target.Batches.Select(b => b.Length));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString()), target.Batches.SelectMany(b => b));
    }

    [Fact]
    public async Task A_full_queue_makes_the_reader_wait_until_a_delivery_takes_a_batch()
    {
        var target = new Target { Hold = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        var dispatcher = new InboundDispatcher(target, Options(maxBatch: 2, maxInboundQueue: 2));
        await EnqueueTexts(dispatcher, [0, 1]);
        dispatcher.Start();
        await target.Delivering.Task.WaitAsync(Timeout); // took 0 and 1
        await EnqueueTexts(dispatcher, [2, 3]);

        var waiting = dispatcher.Enqueue(Message.FromText("4")).AsTask();
        Assert.False(waiting.IsCompleted);
        var hold = target.Hold;
        target.Hold = null;
        hold.SetResult();
        await waiting.WaitAsync(Timeout);
        dispatcher.Start();
        await WaitDrained(dispatcher, target, 5);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => i.ToString()), target.Batches.SelectMany(b => b));
    }

    [Fact]
    public async Task Abort_ends_a_wait_for_room()
    {
        var target = new Target { Hold = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        var dispatcher = new InboundDispatcher(target, Options(maxInboundQueue: 1));
        await EnqueueTexts(dispatcher, [0]);
        dispatcher.Start();
        await target.Delivering.Task.WaitAsync(Timeout);
        await EnqueueTexts(dispatcher, [1]);

        var waiting = dispatcher.Enqueue(Message.FromText("2")).AsTask();
        dispatcher.Abort();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dispatcher.Enqueue(Message.FromText("3")).AsTask().WaitAsync(Timeout));
        target.Hold.SetResult();
    }

    [Fact]
    public async Task After_a_failed_delivery_or_once_the_target_stops_accepting_the_rest_is_dropped()
    {
        var target = new Target { Fail = true };
        var dispatcher = new InboundDispatcher(target, Options(maxBatch: 1));
        await EnqueueTexts(dispatcher, [0, 1, 2]);
        dispatcher.Start();
        await dispatcher.Drained.WaitAsync(Timeout);
        Assert.Equal([["0"]], target.Batches);

        var closing = new Target { Accepting = false };
        var other = new InboundDispatcher(closing, Options());
        await EnqueueTexts(other, [0, 1]);
        other.Start();
        await other.Drained.WaitAsync(Timeout);
        Assert.Empty(closing.Batches);
    }

    // The dispatch ends when the queue is empty; a test waits for the messages it expects, then for that end.
    private static async Task WaitDrained(InboundDispatcher dispatcher, Target target, int messages)
    {
        await target.Received(messages).WaitAsync(Timeout);
        await dispatcher.Drained.WaitAsync(Timeout);
    }
}
