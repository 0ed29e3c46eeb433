using System.Net.WebSockets;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

// The opening of a connection: the grain's connect (OnUpgrade, OnOpen), the HTTP answer, the 101 and the frames
// OnOpen sent. Whatever fails after the grain accepted, the grain hears that the peer closed.
internal sealed partial class WebSocketConnection
{
    // The handshake: the grain connects the peer, OnOpen's subscriptions are made, the 101 goes out.
    // Null when the request was answered otherwise (503, the handler's rejection) or the client left.
    private async Task<(WebSocket Socket, PeerReply Reply)?> Open(HttpContext context, UpgradeRequest request)
    {
        if (_runtime.Lease.Lost)
        {
            // No lease the cluster knows of: a peer opened now would be listed under no live gateway.
            Log.RefusedWithoutLease(_logger, PeerId);
            await WebSocketHandshake.Unavailable(context);
            return null;
        }

        if (_resume is { Secret: not null } && _runtime.Lease.Stopping)
        {
            // The client resumes through another gateway.
            await WebSocketHandshake.Unavailable(context);
            return null;
        }

        ConnectResult connected;
        var extensions = WebSocketHandshake.Extensions(context, _options);
        try
        {
            if (_resume is { Secret: { } secret } resume)
            {
                var resuming = new ResumeRequest(secret, resume.LastSeq, request, _runtime.Lease.Delivery, _runtime.Lease.Id);
                connected = await ClusterRetry.WhenRejected(() => _grain.Resume(resuming), cancellationToken: context.RequestAborted);
            }
            else
            {
                // A new resumable peer's first connection is its epoch 1.
                _epoch = _resume is null ? 0 : 1;
                var connect = new ConnectRequest(request, _runtime.Lease.Delivery, _runtime.Lease.Id, extensions) { Resume = _resume?.Settings };
                connected = await ClusterRetry.WhenRejected(() => _grain.Connect(connect), cancellationToken: context.RequestAborted);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ConnectFailed(_logger, ex, PeerId);
            // The grain may have opened the peer after all (the call timed out, not failed), and OnOpen may have
            // subscribed it here: close it, and let go of its topics.
            RequestClose(Ended);
            _runtime.Topics.Release(this);
            _ = TellGrainClosed(Dropped);
            await WebSocketHandshake.Unavailable(context);
            return null;
        }

        if (!connected.Answer.Accepted && _resume is { Secret: not null })
        {
            Log.ResumeRefused(_logger);
            if (_previous is { } previous)
            {
                _runtime.Connections.Restore(previous, this);
            }

            await RefuseResume(context);
            return null;
        }

        if (!connected.Answer.Accepted)
        {
            Log.UpgradeRejected(_logger, PeerId, connected.Answer.Status);
            await WebSocketHandshake.Reject(context, connected.Answer);
            return null;
        }

        Namespace = connected.Answer.Namespace;
        var answer = connected.Answer;
        if (connected.Welcome is { } welcome)
        {
            (_epoch, _nextNumber, _dispatched, _acknowledged) = (welcome.Epoch, welcome.Applied + 1, welcome.Applied, welcome.Applied);
            answer = answer with { Protocol = ResumeFraming.WireProtocol(answer.Protocol) };
            // A resumed peer's topics, in place before the 101 as OnOpen's are, with what was published to them meanwhile.
            var complete = await Rejoin(welcome.Topics);
            _welcome = welcome with { Recovered = welcome.Recovered && complete };
            _previous?.BeginClose(CloseCodes.Superseded, "superseded by a resumed connection");
            _previous = null;
        }

        // OnOpen's subscriptions were made while it ran, so they are in place before the 101 goes out.
        if (_close is { } closing)
        {
            // Closed before it opened (a topic fenced, or publishes overflowed the queue while OnOpen ran): the grain
            // hears of the end, and the topics let go of the connection.
            _runtime.Topics.Release(this);
            await TellGrainClosed(new CloseDetails(closing.Code, closing.Reason, WasClean: false));
            await WebSocketHandshake.Unavailable(context);
            return null;
        }

        try
        {
            // Compression only where the grain was told it is negotiated, so Peer.Extensions never says otherwise.
            // Listed from before the 101 leaves: a client that has its handshake finds itself in a listing.
            _isOpen = true;
            var socket = await WebSocketHandshake.Accept(context, answer, _options, compress: extensions.Count > 0, PeerId);
            MakeAbortable(socket);
            return (socket, connected.Reply);
        }
        catch (Exception ex)
        {
            // Whatever failed (the client left, or the runtime refused the handshake), the peer opened in its
            // grain: it must hear of the end, and the topics OnOpen joined must let go of it.
            if (ex is IOException or OperationCanceledException or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
            {
                Log.AcceptFailed(_logger, ex, PeerId);
            }
            else
            {
                Log.HandshakeFailed(_logger, ex, PeerId);
            }

            _isOpen = false;
            RequestClose(Ended);
            _runtime.Topics.Release(this);
            await TellGrainClosed(Dropped);
            if (!context.Response.HasStarted)
            {
                // No 101 went out: the client gets an answer, not an empty 200 with the handler's headers.
                try
                {
                    context.Response.Headers.Clear();
                    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                    await context.Response.WriteAsync("The WebSocket handshake failed.\n", context.RequestAborted);
                }
                catch (Exception failed) when (IsSocketFailure(failed) || failed is InvalidOperationException)
                {
                    // The client is gone too.
                }
            }

            return null;
        }
    }

    private async Task<bool> SendOpeningFrames(WebSocket socket, PeerReply reply)
    {
        // OnOpen's frames go out ahead of anything that was queued while OnOpen ran; a resumable connection's welcome first.
        try
        {
            if (_welcome is { } welcome)
            {
                var frame = ResumeFraming.Welcome(PeerId, welcome);
                await socket.SendAsync(frame.Data, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                (_welcome, _welcomed, _welcomedSeq) = (null, true, welcome.LastSeq);
            }

            for (var i = 0; i < reply.Frames.Count; i++)
            {
                var frame = Framed(reply, i);
                await socket.SendAsync(frame.Data, frame.IsText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            }

            // A resumed peer's topics' missed publishes, each topic's in order, ahead of their live ones (queued meanwhile).
            foreach (var frame in _missed ?? [])
            {
                await socket.SendAsync(frame.Data, frame.IsText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            }

            _missed = null;
            if (_resume is not null)
            {
                OpeningShown(Math.Max(_welcomedSeq, reply.Seqs is [.., var last] ? last : 0));
            }
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
            Log.SocketFailed(_logger, ex, PeerId, socket.State);
            return false;
        }

        ApplyClose(reply.Close);
        return true;
    }
}
