using OrleansWs.Internal;

namespace OrleansWs;

// What a hook asks of its own socket while it runs (Peer's bufferedAmount, WaitForDrain, subscribe and unsubscribe),
// each a call to the peer's gateway.
public abstract partial class WebSocketHandler<TState>
{
    async Task<long> IPeerSocket.GetBufferedAmount()
    {
        if (Record.Gateway is not { } gateway || Record.PeerId is not { } peerId)
        {
            return -1;
        }

        try
        {
            return await gateway.GetBufferedAmount(peerId).WaitAsync(GatewayAnswerLimit);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            return -1;
        }
    }

    // The gateway answers when the queue has drained or the timeout passed; an answer that does not come
    // (the gateway died, or the call timed out) means nothing is known to have drained.
    async Task<bool> IPeerSocket.WaitForDrain(PeerEffects effects, long threshold, TimeSpan timeout)
    {
        if (Record.Gateway is not { } gateway || Record.PeerId is not { } peerId)
        {
            return false;
        }

        if (effects.SocketClosed)
        {
            // OnClose: no socket to drain, and no commit point (its effects leave after it, named by the close).
            return false;
        }

        // A commit point: what the hook did so far leaves before the wait, so the wait covers its frames.
        await Commit(effects);
        if (effects.Opening)
        {
            // No socket yet: the frames go with the handshake's reply, and nothing waits in its queue.
            return true;
        }

        try
        {
            var delivery = await OwnConnection(effects);
            if (!ReferenceEquals(delivery, PeerReply.Empty))
            {
                // Forgotten whatever the answer: a gateway that answers late still applies them, and the
                // reply must not bring them again.
                effects.Delivered();
                await ApplyOnGateway(delivery);
            }

            return await gateway.WaitForDrain(peerId, threshold, timeout).WaitAsync(timeout + GatewayAnswerLimit);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            return false;
        }
    }

    async Task IPeerSocket.ChangeTopic(PeerEffects effects, string topic, bool subscribe)
    {
        effects.TopicsChanged();
        if (effects.SocketClosed || effects.SocketClosing || effects.Closing || Record.Gateway is not { } gateway || Record.PeerId is not { } peerId)
        {
            // The socket is gone or going: its gateway lets go of its topics anyway.
            return;
        }

        // Not a commit point: the subscription shows nothing of this hook (its frames still leave with the reply, after
        // the state), only publishes others make. In place on the gateway when this returns: its fan-out has joined the
        // topic's stream, which the gateway bounds itself (it may take a stream subscription and its join marker).
        try
        {
            await gateway.Apply(peerId, new PeerReply([], [new TopicChange(topic, subscribe, Record.Namespace)], null)).WaitAsync(TopicChangeLimit);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            // The gateway may or may not hold the subscription: the peer cannot be promised either, so it closes.
            effects.RequestClose(CloseCodes.TryAgainLater, "topic subscription failed", terminate: false);
            if (ex is TimeoutException && ex.Message == UnexplainedTimeout)
            {
                // WaitAsync's own: say which wait ran out.
                throw new TimeoutException($"The gateway did not confirm the subscription to topic {topic} within {TopicChangeLimit.TotalSeconds} s.", ex);
            }

            throw;
        }
    }

    private static readonly string UnexplainedTimeout = new TimeoutException().Message;

    // Longer than the gateway's own bound for a join (its join marker), by a gateway answer either side.
    private static readonly TimeSpan TopicChangeLimit = RuntimeTimeouts.TopicChange;
}
