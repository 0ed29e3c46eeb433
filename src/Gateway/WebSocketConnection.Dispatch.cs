using System.Net.WebSockets;
using OrleansWs.Protocol;

namespace OrleansWs.Gateway;

// The grain side of the socket loop: messages go to the peer's grain strictly in order, one call
// at a time; whatever arrives while a call is in flight goes in the next call as one batch.
internal sealed partial class WebSocketConnection
{
    private async Task DispatchLoop()
    {
        var reader = _inbound.Reader;
        var batch = new List<Message>(_options.MaxBatch);
        var failed = false;
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            var bytes = 0L;
            while (batch.Count < _options.MaxBatch
                   && reader.TryPeek(out var next)
                   && (batch.Count == 0 || bytes + next.Data.Length <= _options.MaxBatchBytes)
                   && reader.TryRead(out var message))
            {
                batch.Add(message);
                bytes += message.Data.Length;
            }

            Interlocked.Add(ref _inboundBytes, -bytes);
            if (_inboundRoom.CurrentCount == 0)
            {
                _inboundRoom.Release();
            }

            // Once the server closes the peer (its handler asked, or a call failed), later messages are dropped.
            if (failed || _close is { ByServer: true } || _runtime.Crashed)
            {
                continue;
            }

            try
            {
                // A batch the cluster rejected never reached the grain and is sent again; any other
                // failure may have run the hooks, so the batch is reported lost (1011) rather than repeated.
                var inbound = new InboundBatch(batch.ToArray(), Interlocked.Read(ref _queuedBytes));
                var reply = await ClusterRetry.WhenRejected(() => _grain.Receive(inbound));
                await Apply(reply);
            }
            catch (Exception ex)
            {
                failed = true;
                Log.GrainCallFailed(_logger, ex, PeerId);
                BeginClose(CloseCodes.InternalError, "server error");
            }
        }

        await TellGrainClosed(_closed!);
    }

    /// <summary>Tells the grain the peer is gone (1006) when the handshake never completed; the grain ignores it if it is not open.</summary>
    public Task TellGrainClosedBestEffort() => TellGrainClosed(new CloseDetails(CloseCodes.Abnormal, "", WasClean: false));

    private async Task TellGrainClosed(CloseDetails details)
    {
        if (_runtime.Crashed)
        {
            return;
        }

        try
        {
            await ClusterRetry.WhenRejected(() => _grain.Closed(details));
        }
        catch (Exception ex)
        {
            Log.ClosedCallFailed(_logger, ex, PeerId);
        }
    }

    private async Task Apply(PeerReply reply)
    {
        await ApplyTopicChanges(reply.TopicChanges);
        foreach (var frame in reply.Frames)
        {
            Enqueue(frame);
        }

        ApplyClose(reply.Close);
    }

    private async Task ApplyTopicChanges(IReadOnlyList<TopicChange> changes)
    {
        foreach (var change in changes)
        {
            if (change.Subscribe)
            {
                await _runtime.Topics.Subscribe(change.Topic, this);
            }
            else
            {
                _runtime.Topics.Unsubscribe(change.Topic, this);
            }
        }
    }

    private void ApplyClose(CloseCommand? close)
    {
        if (close is null)
        {
            return;
        }

        if (close.Terminate)
        {
            Terminate();
        }
        else
        {
            BeginClose(close.Code, close.Reason);
        }
    }

    private static readonly string UnexplainedFault = new WebSocketException(WebSocketError.Faulted).Message;

    // ManagedWebSocket answers a broken frame or invalid UTF-8 with its own close frame (1002 or
    // 1007), aborts, and throws. Header violations carry a message of their own; invalid UTF-8
    // throws the bare Faulted error. (So does a malformed close frame from the client, which the
    // client is told is a 1002 but OnClose then reports as 1007.)
    private static CloseDetails? ProtocolViolation(Exception ex)
    {
        if (ex is not WebSocketException { WebSocketErrorCode: WebSocketError.Faulted } wse)
        {
            return null;
        }

        return wse.Message == UnexplainedFault
            ? new CloseDetails(CloseCodes.InvalidPayload, "invalid UTF-8", WasClean: false)
            : new CloseDetails(CloseCodes.ProtocolError, "protocol error", WasClean: false);
    }
}
