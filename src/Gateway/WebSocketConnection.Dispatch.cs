using System.Collections.Concurrent;
using System.Net.WebSockets;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

// The grain side of the socket loop: messages go to the peer's grain strictly in order, one call
// at a time; whatever arrives while a call is in flight goes in the next call as one batch. No task
// waits for messages on an idle peer: the receive loop starts a dispatch when none is running and it
// has read everything that had arrived, and the dispatch ends when the inbound queue is empty.
internal sealed partial class WebSocketConnection
{
    // Created on the first message; written only by the receive loop, read only by the dispatch holding _dispatching.
    private ConcurrentQueue<Message>? _received;
    private int _receivedCount;
    private int _dispatching;
    private bool _dispatchFailed;
    private Task _dispatch = Task.CompletedTask;
    private TaskCompletionSource? _inboundRoom;

    // Called by the receive loop only: queues a message for the grain, waiting while the grain is
    // behind by MaxInboundQueue messages or MaxInboundBytes, so that TCP flow control slows the
    // client instead of gateway memory growing.
    private async ValueTask Dispatch(Message message)
    {
        while (InboundFull(message.Data.Length))
        {
            var room = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Exchange(ref _inboundRoom, room); // a full fence, so that this or Abort sees the other
            if (!InboundFull(message.Data.Length))
            {
                break; // the dispatch made room before it could see our waiter
            }

            StartDispatch(); // a client that never pauses would otherwise never get one started
            if (Volatile.Read(ref _aborted) == 1)
            {
                room.TrySetCanceled(); // an abort that came before our waiter could not cancel it
            }

            await room.Task; // made room, or canceled by an abort
        }

        Interlocked.Add(ref _inboundBytes, message.Data.Length);
        Interlocked.Increment(ref _receivedCount);
        (_received ??= new ConcurrentQueue<Message>()).Enqueue(message);
    }

    // Called by the receive loop only: when its next read has to wait, when it waits for room, and when it ends.
    private void StartDispatch()
    {
        if (_received is { IsEmpty: false } && Interlocked.CompareExchange(ref _dispatching, 1, 0) == 0)
        {
            _dispatch = DispatchQueued();
        }
    }

    private bool InboundFull(int length) =>
        Volatile.Read(ref _receivedCount) >= _options.MaxInboundQueue
        || (Interlocked.Read(ref _inboundBytes) > 0 && Interlocked.Read(ref _inboundBytes) + length > _options.MaxInboundBytes);

    // Runs while holding _dispatching, until the queue is empty. Starts on the receive loop's thread
    // and runs there up to the grain call: no thread hand-over before the call.
    private async Task DispatchQueued()
    {
        var queue = _received!;
        while (true)
        {
            while (!queue.IsEmpty)
            {
                var batch = TakeBatch(queue);

                // Once the server closes the peer (its handler asked, or a call failed), later messages are dropped.
                if (_dispatchFailed || _close is { ByServer: true } || _runtime.Crashed)
                {
                    continue;
                }

                try
                {
                    // A batch the cluster rejected never reached the grain and is sent again; any other
                    // failure may have run the hooks, so the batch is reported lost (1011) rather than repeated.
                    var inbound = new InboundBatch(batch, Interlocked.Read(ref _queuedBytes));
                    var reply = await ClusterRetry.WhenRejected(() => _grain.Receive(inbound));
                    await Apply(reply);
                }
                catch (Exception ex)
                {
                    _dispatchFailed = true;
                    Log.GrainCallFailed(_logger, ex, PeerId);
                    BeginClose(CloseCodes.InternalError, "server error");
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
        var batch = new List<Message>(Math.Min(Volatile.Read(ref _receivedCount), _options.MaxBatch));
        var bytes = 0L;
        while (batch.Count < _options.MaxBatch
               && queue.TryPeek(out var next)
               && (batch.Count == 0 || bytes + next.Data.Length <= _options.MaxBatchBytes)
               && queue.TryDequeue(out var message))
        {
            batch.Add(message);
            bytes += message.Data.Length;
        }

        Interlocked.Add(ref _inboundBytes, -bytes);
        Interlocked.Add(ref _receivedCount, -batch.Count);
        Interlocked.Exchange(ref _inboundRoom, null)?.TrySetResult();
        return batch.ToArray();
    }

    // After the receive loop ended: once every message read has reached the grain, it hears of the close.
    private async Task DispatchClose(CloseDetails closed)
    {
        await _dispatch;
        await TellGrainClosed(closed);
    }

    /// <summary>Tells the grain the peer is gone (1006) when the handshake never completed; the grain ignores it if it is not open.</summary>
    public Task TellGrainClosedBestEffort() => TellGrainClosed(Dropped);

    private async Task TellGrainClosed(CloseDetails details)
    {
        if (_runtime.Crashed)
        {
            return;
        }

        try
        {
            await ClusterRetry.WhenRejected(() => _grain.Closed(details));
        }
        catch (Exception ex)
        {
            Log.ClosedCallFailed(_logger, ex, PeerId);
        }
    }

    private async Task Apply(PeerReply reply)
    {
        await ApplyTopicChanges(reply.TopicChanges);
        foreach (var frame in reply.Frames)
        {
            Enqueue(frame);
        }

        ApplyClose(reply.Close);
    }

    private async Task ApplyTopicChanges(IReadOnlyList<TopicChange> changes)
    {
        foreach (var change in changes)
        {
            if (change.Subscribe)
            {
                await _runtime.Topics.Subscribe(change.Topic, this);
            }
            else
            {
                _runtime.Topics.Unsubscribe(change.Topic, this);
            }
        }
    }

    private void ApplyClose(CloseCommand? close)
    {
        if (close is null)
        {
            return;
        }

        if (close.Terminate)
        {
            Terminate();
        }
        else
        {
            BeginClose(close.Code, close.Reason);
        }
    }

    private static readonly string UnexplainedFault = new WebSocketException(WebSocketError.Faulted).Message;

    // ManagedWebSocket answers a broken frame or invalid UTF-8 with its own close frame (1002 or
    // 1007), aborts, and throws. Header violations carry a message of their own; invalid UTF-8
    // throws the bare Faulted error. (So does a malformed close frame from the client, which the
    // client is told is a 1002 but OnClose then reports as 1007.)
    private static CloseDetails? ProtocolViolation(Exception ex)
    {
        if (ex is not WebSocketException { WebSocketErrorCode: WebSocketError.Faulted } wse)
        {
            return null;
        }

        return wse.Message == UnexplainedFault
            ? new CloseDetails(CloseCodes.InvalidPayload, "invalid UTF-8", WasClean: false)
            : new CloseDetails(CloseCodes.ProtocolError, "protocol error", WasClean: false);
    }
}
