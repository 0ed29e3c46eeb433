using System.Collections.Concurrent;
using System.Net.WebSockets;

namespace OrleansWs.Gateway;

/// <summary>
/// One socket's send side: a queue capped in bytes, written by one writer at a time, in queue order,
/// and the close frame once a close is requested.
/// </summary>
/// <remarks>
/// There is no send task waiting on the queue: whoever hands a message over while no send is in
/// progress writes it to the socket on its own thread, so a topic fan-out to many sockets, or a reply
/// to an echo, wakes no task per message. A send that cannot complete at once (the client reads
/// slowly) continues asynchronously and also writes what was queued meanwhile. Nothing is written
/// before <see cref="Start"/>, so frames queued early wait behind the frames the caller writes first.
/// </remarks>
internal sealed class OutboundQueue(long maxBytes, ILogger logger, string peerId)
{
    // What a queued message costs beyond its payload, so a flood of empty messages still hits the cap.
    private const int MessageOverhead = 64;
    private static readonly TaskCompletionSource SentAlready = Completed();

    // Held (1) until Start, so nothing overtakes what the caller writes first, and for good once the
    // close frame is sent or the socket failed, so nothing follows.
    private int _sending = 1;
    private WebSocket? _socket;
    private CloseRequest? _close;
    private long _queuedBytes;

    // Created on the first message that finds a send in progress; most idle peers never need one.
    private ConcurrentQueue<Message>? _queue;
    // Completed once nothing more will be sent; created only when someone waits for that or when it
    // happens first, so an idle socket keeps none.
    private TaskCompletionSource? _sent;

    // Hooks waiting for the queue to drain (crossws' waitForDrain); created by the first, guarded by itself.
    private List<(long Threshold, TaskCompletionSource<bool> Drained)>? _drainWaiters;
    // How many wait: a write looks at this alone, and takes the list's lock only while someone waits.
    private int _drainWaiting;

    /// <summary>Bytes (with a small per-message overhead) waiting to be written.</summary>
    public long BufferedAmount => Math.Max(0, Interlocked.Read(ref _queuedBytes));

    /// <summary>Whether <see cref="Start"/> was called.</summary>
    public bool Started => Volatile.Read(ref _socket) is not null;

    /// <summary>
    /// Queues <paramref name="message"/> (or writes it now when no send is in progress). Returns
    /// <see langword="false"/>, queueing nothing, when it would take the queue over its byte cap.
    /// </summary>
    public bool TryEnqueue(Message message)
    {
        var cost = message.Data.Length + MessageOverhead;
        if (Interlocked.Add(ref _queuedBytes, cost) > maxBytes)
        {
            Interlocked.Add(ref _queuedBytes, -cost);
            return false;
        }

        Send(message);
        return true;
    }

    /// <summary>Starts writing to <paramref name="socket"/>: what was queued, then whatever comes.</summary>
    public void Start(WebSocket socket)
    {
        Volatile.Write(ref _socket, socket);
        _ = Drain(socket, null);
    }

    /// <summary>
    /// Ends the send side: what is queued is written (or dropped, when <see cref="CloseRequest.DropQueued"/>),
    /// then the close frame (none when <see cref="CloseRequest.Terminate"/>). Only the first call counts.
    /// </summary>
    public void Close(CloseRequest close)
    {
        if (Interlocked.CompareExchange(ref _close, close, null) is null)
        {
            Send(null);
        }
    }

    /// <summary>
    /// Completes with <see langword="true"/> once at most <paramref name="threshold"/> bytes wait, or with
    /// <see langword="false"/> when <paramref name="timeout"/> passes or the send side ends first.
    /// </summary>
    public async Task<bool> WaitForDrain(long threshold, TimeSpan timeout)
    {
        if (BufferedAmount <= threshold)
        {
            return true;
        }

        var waiter = (threshold, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        var waiters = _drainWaiters ?? Interlocked.CompareExchange(ref _drainWaiters, [], null) ?? _drainWaiters;
        lock (waiters)
        {
            waiters.Add(waiter);
            Interlocked.Increment(ref _drainWaiting);
        }

        // The last write may have happened between the check above and the registration.
        ReleaseDrained(ended: Volatile.Read(ref _sent) is { Task.IsCompleted: true });
        try
        {
            return await waiter.Item2.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            lock (waiters)
            {
                if (waiters.Remove(waiter))
                {
                    Interlocked.Decrement(ref _drainWaiting);
                }
            }

            return false;
        }
    }

    // Completes the waiters whose threshold the queue is at or under now; all of them (with false) once it ended.
    private void ReleaseDrained(bool ended)
    {
        if (Volatile.Read(ref _drainWaiting) == 0 || _drainWaiters is not { } waiters)
        {
            return;
        }

        var queued = BufferedAmount;
        lock (waiters)
        {
            for (var i = waiters.Count - 1; i >= 0; i--)
            {
                if (ended || queued <= waiters[i].Threshold)
                {
                    waiters[i].Drained.TrySetResult(!ended);
                    waiters.RemoveAt(i);
                    Interlocked.Decrement(ref _drainWaiting);
                }
            }
        }
    }

    /// <summary>Completes once nothing more will be sent.</summary>
    public Task Ended()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (Interlocked.CompareExchange(ref _sent, waiter, null) ?? waiter).Task;
    }

    private void EndSending()
    {
        Interlocked.CompareExchange(ref _sent, SentAlready, null)?.TrySetResult();
        ReleaseDrained(ended: true);
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    private ConcurrentQueue<Message> Queue
    {
        get
        {
            if (_queue is { } queue)
            {
                return queue;
            }

            Interlocked.CompareExchange(ref _queue, new ConcurrentQueue<Message>(), null);
            return _queue;
        }
    }

    // Sends message (or only what is queued, and the close frame once one is requested) now if no
    // send is in progress; otherwise queues it for the send in progress.
    private void Send(Message? message)
    {
        if (Interlocked.CompareExchange(ref _sending, 1, 0) != 0)
        {
            if (message is null)
            {
                return;
            }

            Queue.Enqueue(message);
            // The sender may have finished between our try and the enqueue; then we drain.
            if (Interlocked.CompareExchange(ref _sending, 1, 0) != 0)
            {
                return;
            }

            message = null;
        }
        else if (message is not null && _queue is { IsEmpty: false } queue)
        {
            // Older messages are waiting: ours goes behind them.
            queue.Enqueue(message);
            message = null;
        }

        _ = Drain(_socket!, message);
    }

    // Runs while holding _sending. Completes synchronously while the socket takes every write at once.
    private async Task Drain(WebSocket socket, Message? first)
    {
        try
        {
            while (true)
            {
                if (first is not null)
                {
                    await Write(socket, first);
                    first = null;
                }

                while (_queue is { } queue && queue.TryDequeue(out var next))
                {
                    await Write(socket, next);
                }

                if (_close is { } close)
                {
                    if (!close.Terminate && socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                    {
                        var status = close.Code == CloseCodes.NoStatus ? WebSocketCloseStatus.Empty : (WebSocketCloseStatus)close.Code;
                        await socket.CloseOutputAsync(status, status == WebSocketCloseStatus.Empty ? null : close.Reason, CancellationToken.None);
                    }

                    break;
                }

                // Let go, then look again: a message queued (or a close requested) after our last
                // look found the flag held and relies on us to send it.
                Interlocked.Exchange(ref _sending, 0);
                if ((_queue is null || _queue.IsEmpty) && _close is null)
                {
                    return;
                }

                if (Interlocked.CompareExchange(ref _sending, 1, 0) != 0)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (WebSocketConnection.IsSocketFailure(ex))
        {
            // The receive loop sees the same failure and reports it.
        }
        catch (Exception ex)
        {
            // A bug of ours must not leave the socket half alive: drop it, and the receive loop reports 1006.
            Log.SendLoopFailed(logger, ex, peerId);
            socket.Abort();
        }

        EndSending();
    }

    private ValueTask Write(WebSocket socket, Message message)
    {
        Interlocked.Add(ref _queuedBytes, -(message.Data.Length + MessageOverhead));
        ReleaseDrained(ended: false);
        return _close is { DropQueued: true }
            ? ValueTask.CompletedTask
            : socket.SendAsync(message.Bytes, message.IsText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
    }
}
