using OrleansWs.Internal;

namespace OrleansWs;

// A resumable peer's own frames: numbered, kept in its outbox within its bounds, and the sends by id that reach it from
// elsewhere, held while one of its calls runs.
public abstract partial class WebSocketHandler<TState>
{
    // Numbers the frames, keeps them in the outbox (written with the next write) and trims it to its bounds.
    private long[] Number(IReadOnlyList<Message> frames)
    {
        var resume = Resumable!;
        var seqs = new long[frames.Count];
        var kept = new List<OutboxFrame>(resume.Frames.Length + frames.Count);
        kept.AddRange(resume.Frames.Where(f => f.Seq > _acked));
        for (var i = 0; i < frames.Count; i++)
        {
            seqs[i] = resume.NextSeq++;
            kept.Add(new OutboxFrame(seqs[i], frames[i]));
        }

        resume.LastSeq = seqs.Length > 0 ? seqs[^1] : resume.LastSeq;

        var (bytes, dropped) = (kept.Sum(f => (long)f.Message.Data.Length), 0);
        while (kept.Count > 0 && (kept.Count - dropped > resume.Settings.MaxFrames || bytes > resume.Settings.MaxBytes))
        {
            bytes -= kept[dropped].Message.Data.Length;
            resume.TrimmedThrough = kept[dropped].Seq;
            dropped++;
            if (dropped == kept.Count)
            {
                break;
            }
        }

        if (dropped > 0)
        {
            LogWarningOutboxTrimmed(_host.PeerId, dropped, resume.Settings.MaxFrames, resume.Settings.MaxBytes);
            kept.RemoveRange(0, dropped);
        }

        (resume.Frames, resume.Acked) = ([.. kept], Math.Max(resume.Acked, _acked));
        _recordChanged = true;
        return seqs;
    }

    // Sends by id that arrived while a call of the peer ran: they leave with that call's reply, after its own frames. Each
    // sender waits until its send is on record (its presence then), or knows it failed.
    private List<(Message Message, TaskCompletionSource<PeerPresence> Done)>? _held;

    // Held sends numbered into the running call's frames, answered once the write that holds them landed.
    private List<TaskCompletionSource<PeerPresence>>? _heldNumbered;

    // Held sends left over when a call ended go out one drain at a time, in the order they came.
    private Task _releasing = Task.CompletedTask;

    // A call of the peer ends. Sends by id that joined it after its reply was built would wait for the next call, which
    // may never come: they go out now, each on its own (numbered after that reply, which the gateway shows first).
    private void EndCall()
    {
        if (--_callsInFlight > 0)
        {
            return;
        }

        if (_heldNumbered is { } unanswered)
        {
            // The call failed after numbering them, before the write that would hold them: not on record.
            _heldNumbered = null;
            foreach (var done in unanswered)
            {
                done.TrySetException(new InvalidOperationException($"The send to peer {_host.PeerId} was not put on record: the call it joined failed."));
            }
        }

        if (_held is { Count: > 0 } held)
        {
            _held = null;
            _releasing = ReleaseAfter(_releasing, held);
        }
    }

    // The running call's write holds the held sends it numbered: their senders hear where the peer is.
    private void HeldWritten()
    {
        if (_heldNumbered is { } written)
        {
            _heldNumbered = null;
            var presence = IsDetached ? PeerPresence.Detached : PeerPresence.Connected;
            foreach (var done in written)
            {
                done.TrySetResult(presence);
            }
        }
    }

    private async Task ReleaseAfter(Task previous, List<(Message Message, TaskCompletionSource<PeerPresence> Done)> held)
    {
        await previous;
        foreach (var (message, done) in held)
        {
            if (Resumable is null || !IsOpen)
            {
                // The call ended the peer: a send to a closed peer goes nowhere.
                done.TrySetResult(PeerPresence.NotOpen);
                continue;
            }

            try
            {
                done.TrySetResult(await SendResumable(message, once: null));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogWarningHeldSendFailed(ex, _host.PeerId);
                done.TrySetException(ex);
            }
        }
    }

    // How many named sends a peer remembers having taken, and for how long: an outbox is released again within its
    // release window (two minutes) of a crash.
    private const int TakenKept = 1024;
    private static readonly TimeSpan TakenFor = TimeSpan.FromMinutes(5);

    // A frame of the peer's own from elsewhere (a send by id). The client must see the peer's frames in sequence order,
    // so numbering, the write and the gateway's queueing happen one send at a time; while a call of the peer runs the
    // send joins its reply instead (a record written now would hold that call's unfinished state, and its reply, numbered
    // already, would arrive after a later number). It answers once the send is on record. A detached peer keeps it. A
    // named send (an outbox's, released again after a crash) is taken once: its id is kept with the frames for a while.
    private async Task<PeerPresence> SendResumable(Message message, EffectId? once)
    {
        TaskCompletionSource<PeerPresence>? held = null;
        await _writing.WaitAsync();
        try
        {
            if (once is { } id)
            {
                var resume = Resumable!;
                if (resume.Taken.Any(t => t.Id == id))
                {
                    return IsDetached ? PeerPresence.Detached : PeerPresence.Connected;
                }

                var now = DateTime.UtcNow;
                resume.Taken = [.. resume.Taken.Where(t => t.At > now - TakenFor).TakeLast(TakenKept - 1), new TakenSend(id, now)];
                _recordChanged = true;
            }

            if (_callsInFlight > 0)
            {
                held = new TaskCompletionSource<PeerPresence>(TaskCreationOptions.RunContinuationsAsynchronously);
                (_held ??= []).Add((message, held));
            }
            else
            {
                var prev = Resumable!.LastSeq;
                var seqs = Number([message]);
                await _record.WriteStateAsync();
                _recordChanged = false;
                if (IsDetached)
                {
                    return PeerPresence.Detached;
                }

                try
                {
                    var shown = await ApplyOnGateway(new PeerReply([message], [], null) { Once = once, Seqs = seqs, PrevSeq = prev, Epoch = Resumable!.Epoch });
                    return shown ? PeerPresence.Connected : PeerPresence.Detached;
                }
                catch (Exception ex) when (ex is TimeoutException or OrleansException)
                {
                    // On record: its connection is going (the gateway died or dropped it), and the resume that follows shows it.
                    return PeerPresence.Detached;
                }
            }
        }
        finally
        {
            _writing.Release();
        }

        return await held.Task;
    }

    // Numbers the call's frames not numbered yet, with the sends held for it after them.
    private void NumberPending(PeerEffects effects)
    {
        if (effects.SocketClosed)
        {
            return;
        }

        if (_held is { } held)
        {
            _held = null;
            foreach (var (message, done) in held)
            {
                effects.Send(message);
                (_heldNumbered ??= []).Add(done);
            }
        }

        var numbered = effects.Seqs?.Length ?? 0;
        if (effects.Frames is { } frames && frames.Count > numbered)
        {
            if (numbered == 0)
            {
                effects.PrevSeq = Resumable!.LastSeq;
            }

            effects.Seqs = [.. effects.Seqs ?? [], .. Number([.. frames.Skip(numbered)])];
        }
    }
}
