using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

// The grain side of a connection: the batches the inbound dispatcher hands over become grain calls,
// and each call's reply (topic changes, frames, a close) is applied in that order.
internal sealed partial class WebSocketConnection
{
    // Once the server closes the peer (its handler asked, or a call failed, or the lease was lost),
    // later messages are dropped.
    bool IInboundTarget.Accepting => _close is not { ByServer: true } && !_runtime.Lease.Lost;

    // Pooled: a call that waits for the grain (every call does) allocates no state machine.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    async ValueTask<bool> IInboundTarget.Deliver(Message[] batch)
    {
        try
        {
            // A batch the cluster rejected never reached the grain and is sent again; any other
            // failure may have run the hooks, so the batch is reported lost (1011) rather than repeated.
            var inbound = new InboundBatch(batch, _outbound.BufferedAmount, Closing) { FirstNumber = _resume is null ? 0 : _dispatched + 1, Epoch = _epoch };
            var reply = await ClusterRetry.WhenRejected(() => _grain.Receive(inbound));
            _dispatched += batch.Length;
            await Apply(reply);
            if (_resume is not null && reply.Applied > _acknowledged)
            {
                // The client may forget what it kept to send again: it is on record.
                _acknowledged = reply.Applied;
                Enqueue(ResumeFraming.Ack(reply.Applied));
            }

            return true;
        }
        catch (Exception ex)
        {
            Log.GrainCallFailed(_logger, ex, PeerId, batch.Length);
            // A resumable client sends again what was not acknowledged, and the grain applies each message once.
            if (_resume is null)
            {
                BeginClose(CloseCodes.InternalError, "server error");
            }
            else
            {
                BeginClose(CloseCodes.ServiceRestart, "server error; resume");
            }

            return false;
        }
    }

    // A close is idempotent in the grain (one that ran finds the record gone), so any failure is asked again, for as
    // long as this gateway holds its lease: once it stops or loses it, the cluster closes the peer from the gateway's
    // list instead.
    // A resumable connection's end detaches its peer unless the client or the handler closed it, the client broke the
    // protocol, or the client never got its token.
    private async Task TellGrainClosed(CloseDetails details, bool socketError = false)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        var detach = _welcomed && !_endsPeer && !socketError;
        while (!_runtime.Lease.Lost)
        {
            try
            {
                await ClusterRetry.WhenRejected(() => _resume is not null ? _grain.Ended(_epoch, details, detach)
                    : socketError ? _grain.ClosedByError(details) : _grain.Closed(details));
                return;
            }
            catch (Exception ex) when (!_runtime.Lease.Stopping)
            {
                Log.ClosedCallRetried(_logger, ex, PeerId, delay);
                await Task.Delay(delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
            catch (Exception ex)
            {
                Log.ClosedCallFailed(_logger, ex, PeerId);
                return;
            }
        }
    }

    // The writes whose sends reached this connection lately: made with the first send another peer's outbox released.
    private OnceWindow? _once;

    /// <summary>Applies a call's reply, or effects a grain delivered on its own: topic changes, then frames, then a close.</summary>
    public async Task Apply(PeerReply reply)
    {
        if (reply.Epoch != 0 && _epoch != 0 && reply.Epoch != _epoch)
        {
            // Meant for another connection of this peer (a resume's takeover of an older one).
            return;
        }

        if (reply.Once is { } once && !LazyInitializer.EnsureInitialized(ref _once).First(once))
        {
            // An outbox released again after its silo died: this send was shown already.
            return;
        }

        await ApplyTopicChanges(reply.TopicChanges);
        if (_resume is not null && reply.Seqs is not null)
        {
            ShowInOrder(reply);
        }
        else
        {
            for (var i = 0; i < reply.Frames.Count; i++)
            {
                Enqueue(reply.Frames[i]);
            }
        }

        ApplyClose(reply.Close);
    }

    // On a resumable connection, a frame of the peer's own carries its sequence.
    private Message Framed(PeerReply reply, int index) =>
        _resume is not null && reply.Seqs is { } seqs && index < seqs.Length ? ResumeFraming.Own(reply.Frames[index], seqs[index]) : reply.Frames[index];

    private async Task ApplyTopicChanges(IReadOnlyList<TopicChange> changes)
    {
        foreach (var change in changes)
        {
            if (change.Namespace is { } ns)
            {
                // Before the join: the fan-out filters namespaced publishes by it.
                Namespace = ns;
            }

            if (change.Subscribe)
            {
                var joinedAt = await _runtime.Topics.Subscribe(change.Topic, this);
                if (_resume is not null)
                {
                    // The client's cursor for the topic starts here: a resume gets what was published from here on.
                    Enqueue(ResumeFraming.Joined(change.Topic, joinedAt.Value));
                }
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

        // The handler's close (or the grain's refusal of a superseded connection) ends the peer; it does not detach.
        _endsPeer = true;
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

    // Per write, the sends applied: the highest index, and which of the 63 below it. An outbox is released again in the
    // order it was first released, within two minutes of its write (older ones send no more), and a connection remembers
    // the last 32 writes whose sends reached it. A send that arrives late (its first delivery timed out) still shows.
    private sealed class OnceWindow
    {
        private const int Writes = 32;
        private readonly (Guid Write, int Index, ulong Seen)[] _applied = new (Guid, int, ulong)[Writes];
        private int _next;

        public bool First(EffectId id)
        {
            lock (_applied)
            {
                for (var i = 0; i < Writes; i++)
                {
                    ref var entry = ref _applied[i];
                    if (entry.Write != id.Write || id.Write == Guid.Empty)
                    {
                        continue;
                    }

                    if (id.Index > entry.Index)
                    {
                        var shift = id.Index - entry.Index;
                        entry.Seen = (shift >= 64 ? 0 : entry.Seen << shift) | 1;
                        entry.Index = id.Index;
                        return true;
                    }

                    var bit = entry.Index - id.Index;
                    if (bit >= 64 || (entry.Seen & (1UL << bit)) != 0)
                    {
                        return false;
                    }

                    entry.Seen |= 1UL << bit;
                    return true;
                }

                _applied[_next] = (id.Write, id.Index, 1);
                _next = (_next + 1) % Writes;
                return true;
            }
        }
    }
}
