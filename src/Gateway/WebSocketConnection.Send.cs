using System.Collections.Concurrent;
using System.Net.WebSockets;

namespace OrleansWs.Gateway;

// The send side of the socket loop. There is no send task waiting on a queue: whoever hands a
// message over while no send is in progress writes it to the socket on its own thread, so a topic
// fan-out to many sockets, or a reply to an echo, wakes no task per message. A send that cannot
// complete at once (the client reads slowly) continues asynchronously and also writes what was
// queued meanwhile. The _sending flag makes that one writer at a time, in queue order.
internal sealed partial class WebSocketConnection
{
    // Held (1) from construction until the opening frames are out, so nothing overtakes them, and
    // for good once the close frame is sent or the socket failed, so nothing follows.
    private int _sending = 1;
    private WebSocket? _socket;

    // Created on the first message that finds a send in progress; most idle peers never need one.
    private ConcurrentQueue<Message>? _queue;
    // Completed once nothing more will be sent; created only when someone waits for that (the socket
    // loop, at its end) or when it happens first, so an idle socket keeps none.
    private TaskCompletionSource? _sent;
    private static readonly TaskCompletionSource SentAlready = Completed();

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

    /// <summary>Starts writing queued messages to <paramref name="socket"/>.</summary>
    private void StartSending(WebSocket socket)
    {
        _socket = socket;
        _ = Drain(socket, null);
    }

    /// <summary>Completes once nothing more will be sent.</summary>
    private Task SendingEnded()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (Interlocked.CompareExchange(ref _sent, waiter, null) ?? waiter).Task;
    }

    private void EndSending() => Interlocked.CompareExchange(ref _sent, SentAlready, null)?.TrySetResult();

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    // Sends message (or only what is queued, and the close frame once one is requested) now if no
    // send is in progress; otherwise queues it for the send in progress.
    private void Send(Message? message)
    {
        if (Interlocked.CompareExchange(ref _sending, 1, 0) != 0)
        {
            if (message is not null)
            {
                Queue.Enqueue(message);
                // The sender may have finished between our try and the enqueue; then we drain.
                if (Interlocked.CompareExchange(ref _sending, 1, 0) != 0)
                {
                    return;
                }

                message = null;
            }
            else
            {
                return;
            }
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
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            // The receive loop sees the same failure and reports it.
        }
        catch (Exception ex)
        {
            // A bug of ours must not leave the socket half alive: drop it, and the receive loop reports 1006.
            Log.SendLoopFailed(_logger, ex, PeerId);
            socket.Abort();
        }

        EndSending();
    }

    private ValueTask Write(WebSocket socket, Message message)
    {
        Interlocked.Add(ref _queuedBytes, -(message.Data.Length + MessageOverhead));
        return _close is { DropQueued: true }
            ? ValueTask.CompletedTask
            : socket.SendAsync(message.Bytes, message.IsText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
    }
}
