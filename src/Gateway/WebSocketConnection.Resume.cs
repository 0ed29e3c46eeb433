using System.Net.WebSockets;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

// A resumed connection's side of resume (docs/protocol.md): a refusal the client can read, and the peer's topics joined
// again with what the client missed of them read from their history.
internal sealed partial class WebSocketConnection
{
    // A resumed peer's topic publishes that its client missed, sent after the replayed frames of its own.
    private List<Message>? _missed;

    // Per topic, the last entry the history was read through on resume (live deliveries at or below it were shown from
    // the history), and the live deliveries held while it was read. Both guarded by _resume.
    private Dictionary<string, (long Position, int Index)>? _floors;
    private List<(string Topic, long Position, int Index, Message Frame)>? _heldLive;

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

    // Joins the resumed peer to each of its topics, and reads from each topic's history everything after the client's
    // cursor, up to the log's end or the first live delivery held for it. Live deliveries that reach the connection meanwhile are held, and after the reads
    // only those past what the history showed go out: the history and the live path overlap instead of leaving a gap (a
    // publish that this gateway delivered between the topic's position being read and the join would otherwise be in
    // neither). False when some of it is gone from the history, or could not be read.
    private async Task<bool> Rejoin(IReadOnlyList<string> topics)
    {
        var (complete, cursors) = (true, _resume!.Cursors ?? []);
        lock (_resume)
        {
            (_floors, _heldLive) = (new(StringComparer.Ordinal), []);
        }

        foreach (var topic in topics)
        {
            var joinedAt = await _runtime.Topics.Subscribe(topic, this);
            if (!cursors.TryGetValue(topic, out var cursor))
            {
                // The client never heard of the topic (it joined it while detached): it starts where the peer joined now.
                (_missed ??= []).Add(ResumeFraming.Joined(topic, joinedAt.Value));
                continue;
            }

            try
            {
                complete &= await CatchUp(topic, cursor);
            }
            catch (Exception ex) when (ex is TimeoutException or OrleansException)
            {
                Log.ResumeCatchUpFailed(_logger, ex, PeerId, topic);
                complete = false;
            }
        }

        lock (_resume)
        {
            foreach (var (topic, position, index, frame) in _heldLive!)
            {
                if (IsPastFloor(topic, position, index))
                {
                    (_missed ??= []).Add(frame);
                }
            }

            _heldLive = null;
        }

        return complete;
    }

    private async Task<bool> CatchUp(string topic, (long Position, int Index) cursor)
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
            // Past the first entry the live path holds, the rest of the topic comes from there: a busy topic's read ends.
            var liveFrom = FirstHeld(topic);
            foreach (var publish in read.Publishes)
            {
                if (publish.Position.Value > liveFrom)
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
                lock (_resume!)
                {
                    _floors![topic] = (publish.Position.Value, publish.Events.Count - 1);
                }
            }

            if (read.Publishes.Count < Page)
            {
                return complete;
            }
        }
    }

    // A live delivery to a resumed connection: held while its topics' histories are read, and dropped when the history
    // showed it already. False when it is not to be queued now.
    private bool PassLive(string topic, long position, int index, Message frame)
    {
        lock (_resume!)
        {
            // Only the topics read from their history wait; one joined afresh (OnResume's) has nothing to catch up.
            if (_heldLive is { } held && _resume.Cursors?.ContainsKey(topic) == true)
            {
                held.Add((topic, position, index, frame));
                return false;
            }

            return IsPastFloor(topic, position, index);
        }
    }

    // Where the live path took over a topic: the first delivery held for it, if one came.
    private long? FirstHeld(string topic)
    {
        lock (_resume!)
        {
            foreach (var (heldTopic, position, _, _) in _heldLive ?? [])
            {
                if (string.Equals(heldTopic, topic, StringComparison.Ordinal))
                {
                    return position;
                }
            }

            return null;
        }
    }

    private bool IsPastFloor(string topic, long position, int index) =>
        _floors is null || !_floors.TryGetValue(topic, out var floor) || position > floor.Position || (position == floor.Position && index > floor.Index);
}
