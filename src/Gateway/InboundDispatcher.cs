using System.Collections.Concurrent;

namespace OrleansWs.Gateway;

/// <summary>Where an <see cref="InboundDispatcher"/> hands its batches: the peer's grain, for a connection.</summary>
internal interface IInboundTarget
{
    /// <summary>
    /// Delivers one batch, oldest message first. Returns <see langword="false"/> when it failed and no
    /// later batch may follow (the target closes the peer).
    /// </summary>
    ValueTask<bool> Deliver(Message[] batch);

    /// <summary>Whether batches are still wanted; once not (the peer is closing), what is queued is dropped.</summary>
    bool Accepting { get; }
}

/// <summary>
/// One socket's inbound side: messages go to the <see cref="IInboundTarget"/> strictly in order, one
/// delivery at a time; whatever arrives while a delivery is in flight goes in the next one as one
/// batch (up to <see cref="WebSocketGatewayOptions.MaxBatch"/> messages and
/// <see cref="WebSocketGatewayOptions.MaxBatchBytes"/>). The queue is bounded
/// (<see cref="WebSocketGatewayOptions.MaxInboundQueue"/>, <see cref="WebSocketGatewayOptions.MaxInboundBytes"/>):
/// a full queue makes the reader wait, so TCP flow control slows the client instead of memory growing.
/// </summary>
/// <remarks>
/// One reader calls <see cref="Enqueue"/> and <see cref="Start"/>. No task waits for messages on an
/// idle peer: the reader starts a dispatch when it has read everything that had arrived, and the
/// dispatch ends when the queue is empty. A dispatch starts on the reader's thread and runs there up
/// to the delivery: no thread hand-over before the grain call.
/// </remarks>
internal sealed class InboundDispatcher(IInboundTarget target, WebSocketGatewayOptions options)
{
    // Created on the first message; written only by the reader, read only by the dispatch holding _dispatching.
    private ConcurrentQueue<Message>? _received;
    private int _receivedCount;
    private long _receivedBytes;
    private int _dispatching;
    private bool _failed;
    private int _lost;
    private int _aborted;
    private Task _dispatch = Task.CompletedTask;
    private TaskCompletionSource? _room;

    /// <summary>
    /// Queues <paramref name="message"/>, first waiting while the queue is full. The wait ends with
    /// <see cref="OperationCanceledException"/> once <see cref="Abort"/> was called.
    /// </summary>
    public async ValueTask Enqueue(Message message)
    {
        while (Full(message.Data.Length))
        {
            var room = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Exchange(ref _room, room); // a full fence, so that this or Abort sees the other
            if (!Full(message.Data.Length))
            {
                break; // the dispatch made room before it could see our waiter
            }

            Start(); // a client that never pauses would otherwise never get one started
            if (Volatile.Read(ref _aborted) == 1)
            {
                room.TrySetCanceled(); // an abort that came before our waiter could not cancel it
            }

            await room.Task; // made room, or canceled by an abort
        }

        Interlocked.Add(ref _receivedBytes, message.Data.Length);
        Interlocked.Increment(ref _receivedCount);
        (_received ??= new ConcurrentQueue<Message>()).Enqueue(message);
    }

    /// <summary>Starts a dispatch of what is queued unless one is running. The reader calls it when its next read has to wait, and when it ends.</summary>
    public void Start()
    {
        if (_received is { IsEmpty: false } && Interlocked.CompareExchange(ref _dispatching, 1, 0) == 0)
        {
            _dispatch = DispatchQueued();
        }
    }

    /// <summary>Messages read after a delivery failed, which never reached the target; final once <see cref="Drained"/> completed.</summary>
    public int Lost => _lost;

    /// <summary>Completes when the last dispatch started has ended. After the reader's last <see cref="Start"/>, everything queued has been delivered or dropped then.</summary>
    public Task Drained => _dispatch;

    /// <summary>Ends a wait for room at once (the socket is being torn down), and every later one.</summary>
    public void Abort()
    {
        Interlocked.Exchange(ref _aborted, 1);
        Interlocked.Exchange(ref _room, null)?.TrySetCanceled();
    }

    private bool Full(int length) =>
        Volatile.Read(ref _receivedCount) >= options.MaxInboundQueue
        || (Interlocked.Read(ref _receivedBytes) > 0 && Interlocked.Read(ref _receivedBytes) + length > options.MaxInboundBytes);

    // Runs while holding _dispatching, until the queue is empty.
    private async Task DispatchQueued()
    {
        var queue = _received!;
        while (true)
        {
            while (!queue.IsEmpty)
            {
                var batch = TakeBatch(queue);
                if (!_failed && target.Accepting)
                {
                    _failed = !await target.Deliver(batch);
                }
                else if (_failed)
                {
                    _lost += batch.Length;
                }
            }

            // Let go, then look again: a message queued after our last look found the flag held.
            Interlocked.Exchange(ref _dispatching, 0);
            if (queue.IsEmpty || Interlocked.CompareExchange(ref _dispatching, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private Message[] TakeBatch(ConcurrentQueue<Message> queue)
    {
        var batch = new List<Message>(Math.Min(Volatile.Read(ref _receivedCount), options.MaxBatch));
        var bytes = 0L;
        while (batch.Count < options.MaxBatch
               && queue.TryPeek(out var next)
               && (batch.Count == 0 || bytes + next.Data.Length <= options.MaxBatchBytes)
               && queue.TryDequeue(out var message))
        {
            batch.Add(message);
            bytes += message.Data.Length;
        }

        Interlocked.Add(ref _receivedBytes, -bytes);
        Interlocked.Add(ref _receivedCount, -batch.Count);
        Interlocked.Exchange(ref _room, null)?.TrySetResult();
        return batch.ToArray();
    }
}
