using OrleansWs.Internal;

namespace OrleansWs;

// The close path: however a peer ends (its gateway says it closed, the client broke the protocol, or its gateway is
// gone), OnClose runs once and the record is cleared once (docs/architecture.md "Closes, exactly once").
public abstract partial class WebSocketHandler<TState>
{
    // OnClose (and its effects) ran in this activation, and only the clear is left to do when a close is asked again.
    private bool _closeHookRan;

    async Task IPeerGrain.Closed(CloseDetails details)
    {
        await Load();
        await CloseAndForget(details, untrack: true);
    }

    async Task IPeerGrain.ClosedByError(CloseDetails details)
    {
        await Load();
        await CloseAndForget(details, untrack: true, socketError: true);
    }

    async Task IPeerGrain.GatewayGone(Guid gatewayId, CloseDetails details)
    {
        await Load();
        if (!IsConnected || Record.GatewayId != gatewayId)
        {
            ForgetIfUnused();
            return;
        }

        LogWarningGatewayGone(Record.PeerId!, gatewayId, details.Code);
        // The gateway's list is being closed as we speak: no need to leave it. A resumable peer waits for its client.
        if (Resumable is not null)
        {
            await Detach(details, untrack: false);
            return;
        }

        await CloseAndForget(details, untrack: false);
    }

    // Idempotent: a close asked again (its caller did not hear the answer, or another path closes the peer too) finds
    // the record cleared and does nothing, or finishes what the last one began. OnClose runs again only in a new
    // activation that finds the close begun in the record: the silo that ran it died first.
    private async Task CloseAndForget(CloseDetails details, bool untrack, bool socketError = false)
    {
        if (!IsConnected)
        {
            ForgetIfUnused();
            return;
        }

        _callsInFlight++;
        try
        {
            var (gatewayId, peerId) = (Record.GatewayId, Record.PeerId!);
            var detachedIn = IsDetached ? Record.Namespace ?? Record.Request!.Path : null;
            try
            {
                // Before OnClose, as before any hook. The close does not wait for a log that is down: the record, and
                // with it the state those publishes belonged to, is about to be cleared.
                await ReleasePendingOutbox();
            }
            catch (Exception ex)
            {
                _outboxPending = false;
                LogErrorCloseEffectsFailed(ex, peerId);
            }

            if (!_closeHookRan)
            {
                await RunClose(await BeginClose(details), socketError);
                _closeHookRan = true;
            }

            // A clear that fails throws to the caller, who asks again: this activation then only clears, after reading
            // the record afresh (a clear that timed out may have landed, and its ETag is stale either way).
            try
            {
                await ClusterRetry.WhenRejected(_record.ClearStateAsync);
            }
            catch
            {
                _loaded = null;
                throw;
            }

            _closeHookRan = false;
            _record.State = new();
            _writtenState = null;
            _context = null;
            _host.Deactivate();

            if (detachedIn is not null)
            {
                ListDetached(detachedIn, untilUtc: null);
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
                // The gateway's list keeps a closed peer; its close finds the peer gone and skips it.
                LogWarningUntrackFailed(ex, peerId);
            }
        }
        finally
        {
            EndCall();
        }
    }

    // The close on record before OnClose runs, for a handler that has one: what another silo needs to run it again
    // with the same details and the next attempt number. A write that fails throws before anything ran.
    private async Task<CloseDetails> BeginClose(CloseDetails details)
    {
        if (!HasCloseHook)
        {
            return details;
        }

        var previous = Record.Closing;
        var begun = previous ?? details;
        var attempt = Record.CloseAttempts + 1;
        var (closeWrite, outbox) = (Record.CloseWrite, Record.Outbox);
        // The close names OnClose's effects once, so a run again takes effect once. The outbox was released just
        // before (or given up on): a run again must not release it after the log forgot its names for the close's.
        (Record.Closing, Record.CloseAttempts, Record.Outbox) = (begun, attempt, null);
        if (closeWrite == Guid.Empty)
        {
            Record.CloseWrite = Guid.NewGuid();
        }

        try
        {
            await ClusterRetry.WhenRejected(_record.WriteStateAsync);
        }
        catch
        {
            (Record.Closing, Record.CloseAttempts, Record.CloseWrite, Record.Outbox) = (previous, attempt - 1, closeWrite, outbox);
            _loaded = null;
            throw;
        }

        return begun with { Attempt = attempt };
    }

    private async Task RunClose(CloseDetails details, bool socketError)
    {
        var effects = new PeerEffects(Record.PeerId!, _host) { SocketClosed = true };
        var peer = CreatePeer(effects, bufferedAmount: 0);
        _effects = effects;
        try
        {
            if (socketError)
            {
                await ReportSocketError(peer, details);
            }

            await OnClose(peer, details);
        }
        catch (Exception ex)
        {
            LogErrorCloseHookFailed(ex, Record.PeerId!);
        }
        finally
        {
            _effects = null;
        }

        // The socket is gone: of OnClose's effects only those on the cluster remain, and leave as any hook's, named by
        // the close (a run again after a silo's death publishes and sends what this one did once; what it does beyond
        // this one's effects leaves). One that fails (a publish the topic refused) must not keep the peer open: it is
        // logged and the close goes on.
        try
        {
            if (effects.TakeCluster() is { } cluster)
            {
                await ReleaseClusterEffects(cluster, Record.CloseWrite == Guid.Empty ? null : Record.CloseWrite);
            }
        }
        catch (Exception ex)
        {
            LogErrorCloseEffectsFailed(ex, Record.PeerId!);
        }
    }
}
