using OrleansWs.Internal;

namespace OrleansWs;

// The hook pipeline: how gateway events become hook calls, and how the hooks' effects leave the
// grain (state written first, then publishes, then the reply to the gateway).
public abstract partial class WebSocketHandler<TState>
{
    private byte[]? _writtenState;
    private bool _recordChanged;
    private int _callsInFlight;

    // The peer's record as read from storage; null until a call needed it (see PeerState).
    private Task? _loaded;

    private PeerRecord<TState> Record => _record.State;

    // Open from the moment Connect accepts until Closed, so interleaved sends during OnOpen reach the gateway.
    private bool IsOpen => Record.Gateway is not null && Record.PeerId is not null;

    // Every call but Connect starts here: a peer whose grain was collected while idle reads its record
    // back. Connect only waits for a read that an interleaved call started: an activation made by
    // Connect is a new peer, with nothing stored to read.
    private Task Load(bool newPeer = false)
    {
        if (_loaded is { IsFaulted: true })
        {
            // A failed read (storage unreachable) is tried again by the next call.
            _loaded = null;
        }

        return _loaded ??= newPeer ? Task.CompletedTask : Read();

        async Task Read()
        {
            await _record.ReadStateAsync();
            if (_record.RecordExists)
            {
                _writtenState = _host.Serializer.SerializeToArray(Record.State);
            }
        }
    }

    async Task<ConnectResult> IPeerGrain.Connect(ConnectRequest request)
    {
        // Counted before waiting on a read an interleaved call started, so that call leaves this activation alone.
        _callsInFlight++;
        try
        {
            await Load(newPeer: true);
            if (IsOpen)
            {
                return new(UpgradeDecision.Reject(409, "This peer is already connected."), PeerReply.Empty);
            }

            var decision = await RunUpgrade(request.Request);
            if (!decision.Accepted)
            {
                _host.Deactivate();
                return new(decision, PeerReply.Empty);
            }

            Record.PeerId = _host.PeerId;
            Record.Request = request.Request;
            Record.Protocol = decision.Protocol;
            Record.Context = decision.Context;
            Record.Gateway = request.Gateway;
            Record.GatewayId = request.GatewayId;
            _recordChanged = true;

            // Listed under the gateway's lease before anything is stored, so no open peer escapes it.
            await _host.TrackPeer(request.GatewayId, Record.PeerId, open: true);
            var reply = await Run(bufferedAmount: 0, (peer, _) => OnOpen(peer));
            return new(decision, reply);
        }
        catch
        {
            // Nothing was acknowledged: forget the half-open peer rather than keep state nobody owns.
            if (_record.RecordExists)
            {
                await _record.ClearStateAsync();
            }

            _record.State = new();
            _writtenState = null;
            _host.Deactivate();
            throw;
        }
        finally
        {
            _callsInFlight--;
        }
    }

    async Task<PeerReply> IPeerGrain.Receive(InboundBatch batch)
    {
        await Load();
        if (!IsOpen)
        {
            LogWarningNotOpen(batch.Messages.Count);
            return new PeerReply([], [], new CloseCommand(CloseCodes.InternalError, "peer state lost", Terminate: false));
        }

        _callsInFlight++;
        try
        {
            return await Run(batch.BufferedAmount, async (peer, effects) =>
            {
                foreach (var message in batch.Messages)
                {
                    await OnMessage(peer, message);
                    if (effects.Closing)
                    {
                        // The peer asked to close: later messages of the batch belong to a closing socket.
                        break;
                    }
                }
            });
        }
        finally
        {
            _callsInFlight--;
        }
    }

    async Task IPeerGrain.Closed(CloseDetails details)
    {
        await Load();
        await CloseAndForget(details, untrack: true);
    }

    async Task IPeerGrain.GatewayLost(Guid gatewayId)
    {
        await Load();
        if (!IsOpen || Record.GatewayId != gatewayId)
        {
            ForgetIfUnused();
            return;
        }

        LogWarningGatewayLost(Record.PeerId!, gatewayId);
        // The gateway's list is being expired as we speak: no need to leave it.
        await CloseAndForget(new CloseDetails(CloseCodes.Abnormal, "gateway lost", WasClean: false), untrack: false);
    }

    private async Task CloseAndForget(CloseDetails details, bool untrack)
    {
        if (!IsOpen)
        {
            _host.Deactivate();
            return;
        }

        _callsInFlight++;
        try
        {
            var effects = new PeerEffects();
            var peer = CreatePeer(effects, bufferedAmount: 0);
            try
            {
                await OnClose(peer, details);
            }
            catch (Exception ex)
            {
                LogErrorCloseHookFailed(ex, Record.PeerId!);
            }

            await PublishAll(effects);
            var (gatewayId, peerId) = (Record.GatewayId, Record.PeerId!);
            try
            {
                await ClusterRetry.WhenRejected(_record.ClearStateAsync);
            }
            finally
            {
                // OnClose has run: whatever storage says, this activation never runs it again.
                _record.State = new();
                _writtenState = null;
                _host.Deactivate();
            }

            try
            {
                if (untrack)
                {
                    await _host.TrackPeer(gatewayId, peerId, open: false);
                }
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException)
            {
                // The gateway's list keeps a closed peer; its expiry finds the peer gone and skips it.
                LogWarningUntrackFailed(ex, peerId);
            }
        }
        finally
        {
            _callsInFlight--;
        }
    }

    async Task<bool> IPeerGrain.Send(Message message)
    {
        if (!await IsOpenElseForget())
        {
            return false;
        }

        await Record.Gateway!.Deliver(Record.PeerId!, message);
        return true;
    }

    async Task<bool> IPeerGrain.Close(int code, string reason)
    {
        if (!await IsOpenElseForget())
        {
            return false;
        }

        await Record.Gateway!.Close(Record.PeerId!, code, reason);
        return true;
    }

    async Task<bool> IPeerGrain.Terminate()
    {
        if (!await IsOpenElseForget())
        {
            return false;
        }

        await Record.Gateway!.Terminate(Record.PeerId!);
        return true;
    }

    async Task<IReadOnlyList<string>?> IPeerGrain.GetTopics() => await IsOpenElseForget() ? Record.Topics.ToArray() : null;

    // What a call from elsewhere in the cluster starts with: the peer's record, and whether the peer is open.
    private async ValueTask<bool> IsOpenElseForget()
    {
        await Load();
        if (IsOpen)
        {
            return true;
        }

        ForgetIfUnused();
        return false;
    }

    private async ValueTask<UpgradeDecision> RunUpgrade(UpgradeRequest request)
    {
        UpgradeDecision decision;
        try
        {
            decision = await OnUpgrade(request);
        }
        catch (Exception ex)
        {
            LogErrorUpgradeHookFailed(ex, request.Path);
            return UpgradeDecision.Reject(500, "The upgrade hook failed.");
        }

        if (decision.Accepted && decision.Protocol is { } protocol && !request.RequestedProtocols.Contains(protocol))
        {
            LogErrorUnrequestedProtocol(protocol, request.Path);
            return UpgradeDecision.Reject(500, "The handler chose a sub-protocol the client did not request.");
        }

        return decision;
    }

    private async Task<PeerReply> Run(long bufferedAmount, Func<Peer, PeerEffects, Task> hooks)
    {
        var effects = new PeerEffects();
        var peer = CreatePeer(effects, bufferedAmount);
        try
        {
            await hooks(peer, effects);
        }
        catch (Exception ex)
        {
            await Fail(peer, effects, ex);
        }

        await WriteIfChanged(effects);
        await PublishAll(effects);
        return effects is { Frames: null, TopicChanges: null, Close: null }
            ? PeerReply.Empty
            : new PeerReply(effects.Frames ?? [], effects.TopicChanges ?? [], effects.Close);
    }

    private async Task Fail(Peer peer, PeerEffects effects, Exception error)
    {
        LogErrorHookFailed(error, peer.Id);
        try
        {
            await OnError(peer, error);
        }
        catch (Exception ex)
        {
            LogErrorErrorHookFailed(ex, peer.Id);
        }

        effects.RequestClose(CloseCodes.InternalError, "handler error", terminate: false);
    }

    private async Task WriteIfChanged(PeerEffects effects)
    {
        var state = _host.Serializer.SerializeToArray(Record.State);
        if (_recordChanged || effects.ChangesTopics || _writtenState is null || !state.AsSpan().SequenceEqual(_writtenState))
        {
            await _record.WriteStateAsync();
            _writtenState = state;
            _recordChanged = false;
        }
    }

    private async Task PublishAll(PeerEffects effects)
    {
        if (effects.Publishes.Count == 0)
        {
            return;
        }

        // Consecutive publishes to one topic (a batch of messages to a room) go to its stream as one
        // event batch: one queue write instead of one per message, in the same order.
        var publishes = effects.Publishes;
        for (var i = 0; i < publishes.Count;)
        {
            var topic = publishes[i].Topic;
            var end = i + 1;
            while (end < publishes.Count && string.Equals(publishes[end].Topic, topic, StringComparison.Ordinal))
            {
                end++;
            }

            var messages = new Message[end - i];
            for (var k = i; k < end; k++)
            {
                messages[k - i] = publishes[k].Message;
            }

            await _host.Publish(topic, messages, Record.PeerId);
            i = end;
        }
    }

    private Peer CreatePeer(PeerEffects effects, long bufferedAmount) =>
        new(Record.PeerId!, Record.Request!, Record.Protocol, Record.Context, Record.Topics, bufferedAmount, effects, Peers, this);

    // A gateway that does not answer within this is taken as gone (its lease runs out on its own).
    private static readonly TimeSpan GatewayAnswerLimit = TimeSpan.FromSeconds(2);

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
    async Task<bool> IPeerSocket.WaitForDrain(long threshold, TimeSpan timeout)
    {
        if (Record.Gateway is not { } gateway || Record.PeerId is not { } peerId)
        {
            return false;
        }

        try
        {
            return await gateway.WaitForDrain(peerId, threshold, timeout).WaitAsync(timeout + GatewayAnswerLimit);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            return false;
        }
    }

    private void ForgetIfUnused()
    {
        // A call for a peer that is gone (or never was) must not leave an activation behind,
        // unless that call raced with a connect or close of this very activation.
        if (_callsInFlight == 0)
        {
            _host.Deactivate();
        }
    }
}
