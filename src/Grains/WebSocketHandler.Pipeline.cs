using OrleansWs.Internal;

namespace OrleansWs;

// The hook pipeline: how gateway events become hook calls, one at a time. How their effects leave
// the grain is in WebSocketHandler.Commit.cs; how a peer ends, in WebSocketHandler.Close.cs.
public abstract partial class WebSocketHandler<TState>
{
    private byte[]? _writtenState;
    private bool _recordChanged;
    private int _callsInFlight;

    // The effects of the hook call running now, which Peers records into; null between calls.
    private PeerEffects? _effects;

    // The peer's context as hooks see it; the record holds it serialized (see WriteIfChanged).
    private object? _context;

    // The peer's record as read from storage; null until a call needed it (see PeerState).
    private Task? _loaded;

    // The record's outbox may not all have left: released before the next commit (see ReleasePendingOutbox).
    private bool _outboxPending;

    private PeerRecord<TState> Record => _record.State;

    // Connected from the moment Connect accepts until the close cleared the record.
    private bool IsConnected => Record.Gateway is not null && Record.PeerId is not null;

    // Open until the close began, so interleaved sends during OnOpen reach the gateway.
    private bool IsOpen => IsConnected && Record.Closing is null;

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
            // A close whose clear failed is finished once the record is gone (the clear landed after all).
            _closeHookRan &= _record.RecordExists;
            if (_record.RecordExists)
            {
                _writtenState = _host.Serializer.SerializeToArray(Record.State);
                _context = ReadContext();
                // Released by the next commit (or the close), not here: a read must not fail because the log is down.
                _outboxPending = Record.Outbox is not null;
                ReadResume();
            }
        }
    }

    async Task<ConnectResult> IPeerGrain.Connect(ConnectRequest request)
    {
        // Counted before waiting on a read an interleaved call started, so that call leaves this activation alone.
        _callsInFlight++;
        var openOnRecord = false;
        try
        {
            await Load(newPeer: true);
            if (IsOpen)
            {
                return new(HandshakeAnswer.Reject(409, "This peer is already connected."), PeerReply.Empty);
            }

            var (decision, context) = await RunUpgrade(request.Request);
            if (!decision.Accepted)
            {
                _host.Deactivate();
                return new(Answer(decision, ""), PeerReply.Empty);
            }

            Record.PeerId = _host.PeerId;
            Record.Request = request.Request;
            Record.Protocol = decision.Protocol;
            Record.Extensions = request.Extensions ?? [];
            Record.Namespace = decision.Namespace ?? request.Request.Path;
            Record.Context = context;
            _context = decision.Context;
            Record.Gateway = request.Gateway;
            Record.GatewayId = request.GatewayId;
            _recordChanged = true;
            var welcome = request.Resume is { } settings ? StartResume(request, settings) : null;

            // Listed under the gateway's lease before anything is stored, so no open peer escapes it.
            await _host.TrackPeer(request.GatewayId, Record.PeerId, open: true);
            if (HasCloseHook)
            {
                // On record before OnOpen runs, for a handler that overrides OnClose (one write): a silo that dies
                // while OnOpen runs, or before its state is written, leaves a peer that the gateway's close (it did
                // not hear the answer) finds and closes, so OnClose follows every OnOpen that began.
                await _record.WriteStateAsync();
                (_writtenState, _recordChanged, openOnRecord) = (_host.Serializer.SerializeToArray(Record.State), false, true);
            }

            var reply = await Run(bufferedAmount: 0, (peer, _) => OnOpen(peer), opening: true);
            return new(Answer(decision, Record.Namespace), reply) { Welcome = welcome is null ? null : welcome with { LastSeq = Resumable!.LastSeq } };
        }
        catch when (openOnRecord)
        {
            // OnOpen began: the gateway, which hears no answer, closes the peer, and OnClose runs with the record as
            // stored (read afresh: what this call changed was not written).
            _loaded = null;
            throw;
        }
        catch
        {
            // Nothing was acknowledged: forget the half-open peer rather than keep state nobody owns.
            try
            {
                if (_record.RecordExists)
                {
                    await _record.ClearStateAsync();
                }
            }
            finally
            {
                _record.State = new();
                _writtenState = null;
                _context = null;
                _host.Deactivate();
            }

            throw;
        }
        finally
        {
            EndCall();
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

        if (Resumable is { } resume && (batch.Epoch != resume.Epoch || resume.DetachedUntil is not null))
        {
            // A connection that was superseded, or one the peer was detached from (its gateway was taken for gone): not run.
            return SupersededReply;
        }

        _callsInFlight++;
        try
        {
            return await Run(batch.BufferedAmount, closing: batch.Closing, hooks: async (peer, effects) =>
            {
                for (var i = 0; i < batch.Messages.Count; i++)
                {
                    var message = batch.Messages[i];
                    if (Resumable is { } numbered)
                    {
                        // Applied once: a message sent again after a resume that the record says ran is dropped.
                        var number = batch.FirstNumber + i;
                        if (number <= numbered.Applied)
                        {
                            continue;
                        }

                        numbered.Applied = number;
                        _recordChanged = true;
                    }

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
            EndCall();
        }
    }

    // A context whose type is gone (renamed or moved without an [Alias]) must not keep the peer from closing.
    private object? ReadContext()
    {
        if (Record.Context is not { } context)
        {
            return Record.LegacyContext;
        }

        try
        {
            return _host.Serializer.Deserialize<object>(context);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogErrorContextUnreadable(ex, _host.PeerId);
            return null;
        }
    }

    // The decision, and its context serialized (the record's form of it).
    private async ValueTask<(UpgradeDecision Decision, byte[]? Context)> RunUpgrade(UpgradeRequest request)
    {
        UpgradeDecision decision;
        try
        {
            decision = await OnUpgrade(request);
        }
        catch (Exception ex)
        {
            LogErrorUpgradeHookFailed(ex, request.Path);
            return (UpgradeDecision.Reject(500, "The upgrade hook failed."), null);
        }

        if (decision.Accepted && decision.Protocol is { } protocol && !request.RequestedProtocols.Contains(protocol))
        {
            LogErrorUnrequestedProtocol(protocol, request.Path);
            return (UpgradeDecision.Reject(500, "The handler chose a sub-protocol the client did not request."), null);
        }

        if (!decision.Accepted || decision.Context is not { } context)
        {
            return (decision, null);
        }

        try
        {
            // Stored with the state: a context that cannot be is refused now, not at the first write.
            return (decision, _host.Serializer.SerializeToArray(context));
        }
        catch (Exception ex)
        {
            LogErrorContextNotSerializable(ex, request.Path, context.GetType().FullName!);
            return (UpgradeDecision.Reject(500, "The upgrade hook gave a context that cannot be stored."), null);
        }
    }

    private async Task<PeerReply> Run(long bufferedAmount, Func<Peer, PeerEffects, Task> hooks, bool opening = false, bool closing = false)
    {
        var effects = new PeerEffects(Record.PeerId!, _host) { Opening = opening, SocketClosing = closing };
        var peer = CreatePeer(effects, bufferedAmount);
        _effects = effects;
        try
        {
            try
            {
                await hooks(peer, effects);
            }
            catch (TopicLogUnavailableException)
            {
                await FailUnpublished(peer, effects);
            }
            catch (Exception ex)
            {
                await Fail(peer, effects, ex);
            }

            if (effects.Publishes && !_host.TopicsWritable)
            {
                await FailUnpublished(peer, effects);
            }
        }
        finally
        {
            _effects = null;
        }

        await Commit(effects);
        return await OwnConnection(effects);
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

    // The topic log is known to be unreachable: the hook fails before its state is written, rather than leave
    // state on record whose publishes could not follow it. Its effects on the cluster are dropped and its state is
    // what was last written; the peer is closed, as after any failed hook.
    private async Task FailUnpublished(Peer peer, PeerEffects effects)
    {
        LogWarningTopicsUnwritable(peer.Id);
        try
        {
            await OnError(peer, new TopicLogUnavailableException());
        }
        catch (Exception ex)
        {
            LogErrorErrorHookFailed(ex, peer.Id);
        }

        effects.TakeCluster();
        Record.State = _writtenState is null ? new() : _host.Serializer.Deserialize<TState>(_writtenState) ?? new();
        _context = ReadContext();
        effects.RequestClose(CloseCodes.InternalError, "topics unavailable", terminate: false);
    }

    private async Task ReportSocketError(Peer peer, CloseDetails details)
    {
        try
        {
            await OnError(peer, new PeerSocketException(details.Code, details.Reason));
        }
        catch (Exception ex)
        {
            LogErrorErrorHookFailed(ex, peer.Id);
        }
    }

    // The gateway's side of the decision; the context stays here.
    private static HandshakeAnswer Answer(UpgradeDecision decision, string @namespace) =>
        new(decision.Accepted, decision.Status, decision.ReasonPhrase, decision.Headers, decision.Body, decision.Protocol, @namespace);

    private Peer CreatePeer(PeerEffects effects, long bufferedAmount) => new(Record.PeerId!, this, bufferedAmount, effects, Peers, this);

    UpgradeRequest IPeerFacts.Request => Record.Request!;

    string? IPeerFacts.Protocol => Record.Protocol;

    IReadOnlyList<string> IPeerFacts.Extensions => Record.Extensions ?? [];

    string IPeerFacts.Namespace => Record.Namespace ?? Record.Request!.Path;

    List<string> IPeerFacts.Topics => Record.Topics;

    object? IPeerFacts.Context
    {
        get => _context;
        set
        {
            if (value is not null)
            {
                try
                {
                    _host.Serializer.SerializeToArray(value);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // A hook error (OnError, then 1011), rather than a failing write after the hook.
                    throw new InvalidOperationException(
                        $"A peer's context is stored with its state: {value.GetType().FullName} cannot be serialized by Orleans (mark it [GenerateSerializer]).", ex);
                }
            }

            _context = value;
        }
    }

    private void ForgetIfUnused()
    {
        // A call for a peer that is gone (or never was) must not leave an activation behind, unless that call raced
        // with a connect or close of this very activation, or a close ran its hook here and has its clear to finish:
        // another activation would run OnClose again.
        if (_callsInFlight == 0 && !_closeHookRan)
        {
            _host.Deactivate();
        }
    }
}
