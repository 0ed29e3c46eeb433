using System.Net.WebSockets;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

// A resumed connection's side of resume (docs/protocol.md): a refusal the client can read, and the peer's topics joined
// again with what the client missed of them read from their history.
internal sealed partial class WebSocketConnection
{
    // A resumed peer's topic publishes that its client missed, sent after the replayed frames of its own.
    private List<Message>? _missed;

    // The peer's own frames reach this gateway by two paths (a call's reply, a send from elsewhere) that may cross: each
    // batch names the sequence before it, and waits here until that one was shown. -1 until the opening frames went out.
    private long _shownSeq = -1;
    private List<PeerReply>? _waiting;
    private Timer? _waitingTimer;

    // Waiting this long for a frame that never comes (its call failed on the way) is given up: the connection closes with
    // 1012 and the client resumes, getting them from the peer's outbox.
    private static readonly TimeSpan OutOfOrderLimit = TimeSpan.FromSeconds(5);

    private void ShowInOrder(PeerReply reply)
    {
        lock (_resume!)
        {
            if (_shownSeq < 0 || reply.PrevSeq > _shownSeq)
            {
                (_waiting ??= []).Add(reply);
                _waitingTimer ??= new Timer(static state => ((WebSocketConnection)state!).OutOfOrder(), this, OutOfOrderLimit, Timeout.InfiniteTimeSpan);
                return;
            }

            Show(reply);
            ShowWaiting();
        }
    }

    // Under the lock of _resume. Frames at or below what was shown came in the opening frames already (a resume's replay).
    private void Show(PeerReply reply)
    {
        for (var i = 0; i < reply.Frames.Count; i++)
        {
            if (reply.Seqs![i] > _shownSeq)
            {
                Enqueue(ResumeFraming.Own(reply.Frames[i], reply.Seqs[i]));
                _shownSeq = reply.Seqs[i];
            }
        }
    }

    // Under the lock of _resume.
    private void ShowWaiting()
    {
        while (_waiting?.FirstOrDefault(r => r.PrevSeq <= _shownSeq) is { } next)
        {
            _waiting.Remove(next);
            Show(next);
        }

        if (_waiting is { Count: 0 })
        {
            _waitingTimer?.Dispose();
            (_waiting, _waitingTimer) = (null, null);
        }
    }

    // The opening frames went out, up to the welcome's sequence: what waited for them follows.
    private void OpeningShown(long lastSeq)
    {
        lock (_resume!)
        {
            _shownSeq = Math.Max(_shownSeq, lastSeq);
            ShowWaiting();
        }
    }

    private void OutOfOrder()
    {
        lock (_resume!)
        {
            if (_waiting is not { Count: > 0 })
            {
                return;
            }
        }

        Log.ResumeFramesMissing(_logger, PeerId);
        BeginClose(CloseCodes.ServiceRestart, "frames out of order; resume");
    }

    // A refused resume gets the 101 and a close the client can read (a browser sees no HTTP status of a failed upgrade),
    // the same whatever the reason.
    private async Task RefuseResume(HttpContext context)
    {
        var protocol = context.WebSockets.WebSocketRequestedProtocols.First(p => p.StartsWith(ResumeFraming.Protocol, StringComparison.Ordinal));
        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = protocol });
            using var timeout = new CancellationTokenSource(_options.CloseTimeout);
            await socket.CloseAsync((WebSocketCloseStatus)CloseCodes.ResumeRefused, "resume refused", timeout.Token);
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            // The client left, or did not answer the close in time.
        }
    }

    // Joins the resumed peer to each of its topics, and reads from each topic's history what lies between the client's
    // cursor and the position the peer joined at now (what comes later reaches it live, after these). False when some
    // of it is gone from the history, or could not be read.
    private async Task<bool> Rejoin(IReadOnlyList<string> topics)
    {
        var (complete, cursors) = (true, _resume!.Cursors ?? []);
        foreach (var topic in topics)
        {
            var joinedAt = await _runtime.Topics.Subscribe(topic, this);
            Enqueue(ResumeFraming.Joined(topic, joinedAt.Value));
            if (!cursors.TryGetValue(topic, out var cursor))
            {
                // The client never heard of the topic (it joined it while detached): it starts where the peer joined now.
                continue;
            }

            try
            {
                complete &= await CatchUp(topic, cursor, joinedAt);
            }
            catch (Exception ex) when (ex is TimeoutException or OrleansException)
            {
                Log.ResumeCatchUpFailed(_logger, ex, PeerId, topic);
                complete = false;
            }
        }

        return complete;
    }

    private async Task<bool> CatchUp(string topic, (long Position, int Index) cursor, TopicPosition joinedAt)
    {
        const int Page = 256;
        var complete = true;
        // A cursor inside an entry reads that entry again, from the message after it.
        var after = new TopicPosition(cursor.Index == int.MaxValue ? cursor.Position : cursor.Position - 1);
        for (var page = 0; ; page++)
        {
            var read = await _runtime.History.Read(topic, after, Page).WaitAsync(RuntimeTimeouts.GatewayAnswer);
            // Read from inside the cursor's entry, the history holds that entry: nothing after the cursor is gone.
            complete &= !read.Truncated || (page == 0 && read.Publishes is [{ } first, ..] && first.Position.Value == cursor.Position);
            foreach (var publish in read.Publishes)
            {
                if (publish.Position >= joinedAt)
                {
                    return complete;
                }

                for (var index = 0; index < publish.Events.Count; index++)
                {
                    var published = publish.Events[index];
                    var seen = publish.Position.Value == cursor.Position && index <= cursor.Index;
                    if (!seen && !string.Equals(published.ExcludePeerId, PeerId, StringComparison.Ordinal)
                        && (published.Namespace is null || string.Equals(published.Namespace, Namespace, StringComparison.Ordinal)))
                    {
                        (_missed ??= []).Add(ResumeFraming.Topic(published.Message, topic, publish.Position.Value, index));
                    }
                }

                after = publish.Position;
            }

            if (read.Publishes.Count < Page)
            {
                return complete;
            }
        }
    }
}
