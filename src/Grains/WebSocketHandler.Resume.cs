using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using OrleansWs.Internal;

namespace OrleansWs;

// Resume (docs/protocol.md): a peer whose connection negotiated it outlives its socket. Its own frames are numbered and
// kept in its record until the client acknowledges them, the client's messages are applied once by their numbers, a
// dropped socket detaches the peer for the resume window (a reminder ends it), and a new connection with the token
// takes the peer over, on any gateway.
public abstract partial class WebSocketHandler<TState> : IRemindable
{
    private const string WindowReminder = "orleansws-resume-window";

    // What the client acknowledged; trimmed from the outbox, and on record, with the next write.
    private long _acked;

    // One write of the record at a time: interleaved sends to a resumable peer write it too.
    private readonly SemaphoreSlim _writing = new(1, 1);

    /// <summary>
    /// A resumable peer's socket dropped (or its gateway died, stopped or lost its lease): the peer waits for its client
    /// for the resume window. Its state, topics and context stay; what is sent to it meanwhile is kept for it (within the
    /// outbox's bounds). Frames this hook sends are kept too. <c>OnClose</c> follows only if the window ends.
    /// </summary>
    public virtual Task OnDetach(Peer peer, CloseDetails details) => Task.CompletedTask;

    /// <summary>
    /// A resumable peer's client came back within the window, on a new connection (any gateway). <paramref name="recovered"/>
    /// is <see langword="false"/> when frames it had not seen were dropped at the outbox's bounds. Frames this hook sends
    /// follow the ones replayed.
    /// </summary>
    public virtual Task OnResume(Peer peer, bool recovered) => Task.CompletedTask;

    private PeerResume? Resumable => Record.Resume;

    private bool IsDetached => Resumable is { DetachedUntil: not null };

    // A new peer that negotiated resume: its token's secret is given once, to the client, and kept as a hash.
    private ResumeWelcome StartResume(ConnectRequest request, ResumeSettings settings)
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        Record.Resume = new PeerResume
        {
            TokenHash = SHA256.HashData(secret),
            User = request.Request.User?.Name,
            Epoch = 1,
            NextSeq = SeqFloor(),
            Settings = settings,
        };
        return new(Token(Convert.ToBase64String(secret).TrimEnd('=').Replace('+', '-').Replace('/', '_')), true, 0, 0, 1, settings.Window, []);
    }

    private string Token(string secret) => $"{_host.PeerId[(_host.PeerId.IndexOf('/') + 1)..]}.{secret}";

    // A new activation numbers from above anything an earlier one could have handed out without writing it (a send that
    // reached the peer while a hook ran is on record with that hook's write): sequences grow with the clock, 1,024 a
    // millisecond, and stay below JavaScript's safe integers until the year 2248.
    private static long SeqFloor() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1024;

    private void ReadResume()
    {
        if (Resumable is { } resume)
        {
            resume.NextSeq = Math.Max(resume.NextSeq, SeqFloor());
            _acked = resume.Acked;
        }
    }

    async Task<ConnectResult> IPeerGrain.Resume(ResumeRequest request)
    {
        _callsInFlight++;
        try
        {
            await Load();
            if (!IsOpen || Resumable is not { } resume || !TokenMatches(resume, request.Secret)
                || !string.Equals(resume.User, request.Request.User?.Name, StringComparison.Ordinal)
                || resume.DetachedUntil < DateTime.UtcNow)
            {
                // One answer for every refusal: whoever holds a token learns nothing of a peer it does not own.
                LogDebugResumeRefused(_host.PeerId);
                if (!_record.RecordExists)
                {
                    // A token that names no peer leaves no activation behind.
                    _host.Deactivate();
                }

                return Refused;
            }

            var (oldGateway, oldGatewayId, oldEpoch, attached) = (Record.Gateway!, Record.GatewayId, resume.Epoch, resume.DetachedUntil is null);
            _acked = Math.Max(_acked, request.LastSeq);
            var recovered = request.LastSeq >= resume.TrimmedThrough;
            var replay = resume.Frames.Where(f => f.Seq > request.LastSeq).ToArray();
            // Listed under the new gateway's lease before the move is on record, as a connect is.
            await _host.TrackPeer(request.GatewayId, Record.PeerId!, open: true);
            (resume.Epoch, resume.DetachedUntil, Record.Gateway, Record.GatewayId) = (oldEpoch + 1, null, request.Gateway, request.GatewayId);
            _recordChanged = true;
            // On the same gateway, that gateway closes the old connection itself (both share the peer id there).
            if (attached && oldGatewayId != request.GatewayId)
            {
                // Superseded: the old connection is closed, and its late calls carry an epoch that is refused from here on.
                LogInformationTakeover(_host.PeerId, oldGatewayId);
                _ = oldGateway.Apply(Record.PeerId!, new PeerReply([], [], new CloseCommand(CloseCodes.Superseded, "superseded by a resumed connection", Terminate: false)) { Epoch = oldEpoch })
                    .WaitAsync(GatewayAnswerLimit).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            }

            if (oldGatewayId != request.GatewayId)
            {
                _ = _host.TrackPeer(oldGatewayId, Record.PeerId!, open: false);
            }

            // OnResume's commit writes the move, with whatever the hook did; its frames follow the replayed ones.
            var reply = await Run(bufferedAmount: 0, (peer, _) => OnResume(peer, recovered), opening: true);
            if (!attached)
            {
                ListDetached(Record.Namespace ?? Record.Request!.Path, untilUtc: null);
            }

            LogDebugResumed(_host.PeerId, replay.Length, recovered);
            var frames = replay.Select(f => f.Message).Concat(reply.Frames).ToArray();
            var seqs = replay.Select(f => f.Seq).Concat(reply.Seqs ?? []).ToArray();
            var answer = new HandshakeAnswer(true, 101, null, [], null, Record.Protocol, Record.Namespace ?? Record.Request!.Path);
            return new(answer, new PeerReply(frames, [], reply.Close) { Seqs = seqs, Applied = resume.Applied, Epoch = resume.Epoch })
            {
                // The opening frames bring the client to the last sequence handed out: its gateway shows later ones after it.
                Welcome = new(Token(request.Secret), recovered, Math.Max(request.LastSeq, resume.LastSeq), resume.Applied, resume.Epoch, resume.Settings.Window, [.. Record.Topics]),
            };
        }
        finally
        {
            EndCall();
        }
    }

    private static readonly ConnectResult Refused = new(HandshakeAnswer.Reject(403, "resume refused"), PeerReply.Empty);

    private static bool TokenMatches(PeerResume resume, string secret)
    {
        try
        {
            var bytes = Convert.FromBase64String(secret.Replace('-', '+').Replace('_', '/') + new string('=', (4 - (secret.Length % 4)) % 4));
            return CryptographicOperations.FixedTimeEquals(SHA256.HashData(bytes), resume.TokenHash);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    async Task IPeerGrain.Ended(long epoch, CloseDetails details, bool detach)
    {
        await Load();
        if (!IsConnected || Resumable?.Epoch != epoch)
        {
            // A connection that was superseded (or a peer already gone): the peer is not this connection's to end.
            ForgetIfUnused();
            return;
        }

        if (detach)
        {
            await Detach(details, untrack: true);
        }
        else
        {
            await CloseAndForget(details, untrack: true);
        }
    }

    Task IPeerGrain.Ack(long epoch, long seq)
    {
        if (Resumable is { } resume && resume.Epoch == epoch)
        {
            _acked = Math.Max(_acked, seq);
        }

        return Task.CompletedTask;
    }

    // The window starts: the reminder that ends it first (a silo that dies after the write still has it end), then the
    // record, with whatever OnDetach did, in one write.
    private async Task Detach(CloseDetails details, bool untrack)
    {
        if (IsDetached || !IsOpen)
        {
            return;
        }

        _callsInFlight++;
        try
        {
            var resume = Resumable!;
            try
            {
                await this.RegisterOrUpdateReminder(WindowReminder, resume.Settings.Window, ReminderPeriod);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Nothing would end the window: the peer closes now rather than wait for ever.
                LogErrorNoReminder(ex, _host.PeerId);
                await CloseAndForget(details, untrack);
                return;
            }

            resume.DetachedUntil = DateTime.UtcNow + resume.Settings.Window;
            _recordChanged = true;
            LogInformationDetached(_host.PeerId, details.Code, resume.Settings.Window.TotalSeconds);
            await Run(bufferedAmount: 0, (peer, _) => OnDetach(peer, details));
            ListDetached(Record.Namespace ?? Record.Request!.Path, resume.DetachedUntil);
            if (untrack)
            {
                _ = _host.TrackPeer(Record.GatewayId, Record.PeerId!, open: false);
            }
        }
        finally
        {
            EndCall();
        }
    }

    private static readonly TimeSpan ReminderPeriod = TimeSpan.FromMinutes(1);

    // The namespace's list of detached peers (GetPeers) only informs: the peer never waits for it (a gateway's death
    // detaches thousands of peers into one list), changes go one at a time in order, and a failure is logged.
    private Task _listing = Task.CompletedTask;

    private void ListDetached(string @namespace, DateTime? untilUtc) => _listing = ListAfter(_listing, @namespace, untilUtc);

    private async Task ListAfter(Task previous, string @namespace, DateTime? untilUtc)
    {
        await previous;
        try
        {
            await _host.ListDetached(@namespace, untilUtc);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogWarningDetachedListing(ex, _host.PeerId);
        }
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != WindowReminder)
        {
            return;
        }

        await Load();
        if (Resumable is { DetachedUntil: { } until } && IsOpen && until > DateTime.UtcNow)
        {
            // Detached again since this reminder was set: the next tick ends it.
            return;
        }

        if (await this.GetReminder(WindowReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        if (Resumable is { DetachedUntil: not null } && IsOpen)
        {
            await CloseAndForget(WindowEnded, untrack: false);
        }
        else
        {
            ForgetIfUnused();
        }
    }

    private static readonly CloseDetails WindowEnded = new(CloseCodes.Abnormal, "resume window ended", WasClean: false);
}
