using OrleansWs.Internal;

namespace OrleansWs;

// How a hook call's effects leave the grain. The order is the causal guarantee: the state is written
// first, with the call's effects on the cluster in it (the outbox); then the hook's effects on the cluster in the
// order it made them, each publish queued by every subscribed gateway and each send or close queued by
// its target's gateway before the next leaves; the reply (the peer's own frames and close) last.
// WaitForDrain is a commit point in the middle of a hook; a subscribe is not one (it shows nothing of
// the hook) and reaches the gateway at once.
public abstract partial class WebSocketHandler<TState>
{
    // Everything but the reply: the state, then the effects on the cluster. A call that writes state writes its
    // effects with it, so that a silo lost before they all left does not split them from the state: whoever reads the
    // record next releases them again, and each takes effect once (by its EffectId). A call that writes no state costs
    // no write: its publishes are in the log, and its sends queued, before its reply leaves.
    private async Task Commit(PeerEffects effects)
    {
        // An outbox this activation read with the record goes first: the write below replaces it.
        await ReleasePendingOutbox();

        if (Resumable is not null)
        {
            // On record with the state, so that a silo lost after the write loses no reply of a resumable peer.
            NumberPending(effects);
        }

        // Taken before they leave: each leaves once, also when one of them fails or the hook records more meanwhile.
        var cluster = effects.TakeCluster();
        if (cluster?.Exists(e => e is ClusterEffect.Publish) == true && !_host.TopicsWritable)
        {
            // A commit point inside the hook (WaitForDrain): the hook fails here, before its state is written.
            throw new TopicLogUnavailableException();
        }

        var outbox = await WriteIfChanged(effects, cluster);
        if (cluster is null)
        {
            return;
        }

        try
        {
            await ReleaseClusterEffects(cluster, outbox?.Write);
        }
        catch when (outbox is not null)
        {
            // On record: the next call, or the close, releases it again before anything else.
            _outboxPending = true;
            throw;
        }
    }

    private static PeerOutbox? OutboxOf(List<ClusterEffect>? cluster) =>
        cluster is null or [] ? null : new PeerOutbox(Guid.NewGuid(), [.. cluster.Select(OutboxEffect.Of)], DateTime.UtcNow);

    // A record read with an outbox may hold effects that never all left (its silo died after the write): they are
    // released before anything else the peer does, and what had left takes effect no second time (the log knows the
    // publishes' names, and a publisher waits for each again; the target's gateway knows the sends'; a close is a close).
    // A release that fails leaves it pending for the next call.
    private async Task ReleasePendingOutbox()
    {
        if (!_outboxPending)
        {
            return;
        }

        if (Record.Outbox is not { } outbox || !IsConnected)
        {
            _outboxPending = false;
            return;
        }

        if (DateTime.UtcNow - outbox.Written > TopicLogLimits.AppendIdWindow)
        {
            // The log no longer remembers its names: released again, it could be published twice.
            LogWarningOutboxTooOld(outbox.Effects.Length);
            _outboxPending = false;
            return;
        }

        // A release cut short by its silo's death fails the call, and the peer's close releases the outbox again within
        // the gateway's call timeout and the silo's death detection; an outbox older than this window left whole before
        // its silo died (the peer's next call came later), and its sends, which gateways remember only for their last
        // writes, stay behind. Publishes go again: the log knows their names for a day.
        var effects = outbox.Effects.AsEnumerable();
        if (DateTime.UtcNow - outbox.Written > SendReleaseWindow)
        {
            effects = effects.Where(e => e.Topic is not null || e.Close is not null);
        }

        await ReleaseClusterEffects([.. effects.Select(e => e.ToEffect())], outbox.Write);
        _outboxPending = false;
    }

    // How long after its write an outbox's sends are released again (see ReleasePendingOutbox).
    private static readonly TimeSpan SendReleaseWindow = TimeSpan.FromMinutes(2);

    // An activation that ends in order (idle, or its silo stopping) has released its record's outbox, which the next one
    // would release again: publishes are then appended no second time (the log knows their names for a day), but a
    // gateway remembers sends only for its connections' last few writes, so an outbox with sends is cleared, in one
    // write, here. A silo that dies runs none of this, and the next activation releases the outbox again, as it must.
    private async Task ForgetReleasedOutbox(CancellationToken cancellationToken)
    {
        if (_outboxPending || !IsConnected || Record.Outbox is not { } outbox || !outbox.Effects.Any(e => e.Topic is null && e.Close is null)
            || _writtenState is null || _recordChanged || !_host.Serializer.SerializeToArray(Record.State).AsSpan().SequenceEqual(_writtenState))
        {
            // Nothing to forget, or the record holds a change that was never written (and must not be now).
            return;
        }

        Record.Outbox = null;
        try
        {
            await _record.WriteStateAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            // The next activation releases the sends again, which their gateways may show twice.
            Record.Outbox = outbox;
            LogWarningOutboxNotForgotten(ex, _host.PeerId);
        }
    }

    // With a write, each effect is named by it and by its place among the write's publishes or sends (EffectId).
    private async Task ReleaseClusterEffects(List<ClusterEffect> cluster, Guid? write)
    {
        var (publishes, sends) = (0, 0);
        foreach (var effect in cluster)
        {
            switch (effect)
            {
                case ClusterEffect.Publish publish:
                    var options = write is { } w ? publish.Options with { Id = new EffectId(_host.PeerId, w, publishes++) } : publish.Options;
                    var queued = await _host.Publish(publish.Topic, publish.Messages, options);
                    if (queued.Fenced.Count > 0)
                    {
                        LogWarningPublishFenced(publish.Topic, queued.Fenced.Count);
                    }

                    break;
                case ClusterEffect.Send send:
                    var id = write is { } named ? new EffectId(_host.PeerId, named, sends++) : (EffectId?)null;
                    await Deliver(send.PeerId, () => _host.Send(send.PeerId, send.Message, id));
                    break;
                case ClusterEffect.Close close:
                    await Deliver(close.PeerId, () => close.Command.Terminate
                        ? _host.Peers.Terminate(close.PeerId)
                        : _host.Peers.Close(close.PeerId, close.Command.Code, close.Command.Reason));
                    break;
            }
        }
    }

    // A peer that closed since the hook asked, or whose gateway does not answer, misses the message; the
    // hook's other effects still leave.
    private async Task Deliver(string peerId, Func<Task<bool>> delivery)
    {
        try
        {
            if (!await delivery())
            {
                LogDebugTargetGone(peerId);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogWarningDeliveryFailed(ex, peerId);
        }
    }

    // The outbox it wrote with the state (the call's effects on the cluster), or null when it wrote nothing or there were none.
    private async Task<PeerOutbox?> WriteIfChanged(PeerEffects effects, List<ClusterEffect>? cluster)
    {
        var state = _host.Serializer.SerializeToArray(Record.State);
        // The context as the record holds it: a hook may have replaced it or changed the object in place.
        var context = _context is null ? null : _host.Serializer.SerializeToArray(_context);
        var contextChanged = !(context ?? []).AsSpan().SequenceEqual(Record.Context ?? []) || (context is null) != (Record.Context is null)
            || Record.LegacyContext is not null;
        if (_recordChanged || effects.ChangesTopics || contextChanged || _writtenState is null || !state.AsSpan().SequenceEqual(_writtenState))
        {
            var outbox = OutboxOf(cluster);
            var (written, legacy, writtenOutbox) = (Record.Context, Record.LegacyContext, Record.Outbox);
            (Record.Context, Record.LegacyContext, Record.Outbox) = (context, null, outbox);
            await _writing.WaitAsync();
            try
            {
                await _record.WriteStateAsync();
            }
            catch
            {
                // Not stored: the next commit must see the change again.
                (Record.Context, Record.LegacyContext, Record.Outbox) = (written, legacy, writtenOutbox);
                throw;
            }
            finally
            {
                _writing.Release();
            }

            _writtenState = state;
            _recordChanged = false;
            effects.TopicsWritten();
            return outbox;
        }

        return null;
    }

    // The effects on the peer's own connection, as its gateway applies them.
    private async ValueTask<PeerReply> OwnConnection(PeerEffects effects)
    {
        if (Resumable is { } resume)
        {
            var numbered = effects.Seqs?.Length ?? 0;
            NumberPending(effects);
            if ((effects.Seqs?.Length ?? 0) > numbered)
            {
                // Sends held for this call that came after its commit: on record before they leave, as every frame is.
                await _writing.WaitAsync();
                try
                {
                    await _record.WriteStateAsync();
                    _recordChanged = false;
                }
                finally
                {
                    _writing.Release();
                }
            }

            // The held sends numbered in this call are on record now: in the commit's write, or in the one above.
            HeldWritten();
            return new PeerReply(effects.Frames ?? [], [], effects.Close) { Seqs = effects.Seqs, PrevSeq = effects.PrevSeq, Applied = resume.Applied, Epoch = resume.Epoch };
        }

        return effects is { Frames: null, Close: null } ? PeerReply.Empty : new PeerReply(effects.Frames ?? [], [], effects.Close);
    }

    // Completes once the gateway queued the effects (an answer that does not come within the limit throws
    // TimeoutException), so whoever awaits it knows they are ahead of what it does next.
    private Task<bool> ApplyOnGateway(PeerReply effects) => Record.Gateway!.Apply(Record.PeerId!, effects).WaitAsync(GatewayAnswerLimit);

    // A gateway that does not answer within this is taken as gone (its lease runs out on its own).
    private static readonly TimeSpan GatewayAnswerLimit = RuntimeTimeouts.GatewayAnswer;
}
