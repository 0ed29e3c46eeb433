using OrleansWs.Internal;

namespace OrleansWs;

// What the rest of the cluster asks of a peer (send, close, terminate, its topics), interleaved with its hooks.
public abstract partial class WebSocketHandler<TState>
{
    private static readonly PeerReply SupersededReply = new([], [], new CloseCommand(CloseCodes.Superseded, "superseded by a resumed connection", Terminate: false));

    async Task<PeerPresence> IPeerGrain.Send(Message message)
    {
        if (!await IsOpenElseForget())
        {
            return PeerPresence.NotOpen;
        }

        return Resumable is null ? Connected(await ApplyOnGateway(new PeerReply([message], [], null))) : await SendResumable(message, null);
    }

    async Task<bool> IPeerGrain.SendOnce(Message message, EffectId id)
    {
        if (!await IsOpenElseForget())
        {
            return false;
        }

        return Resumable is null ? await ApplyOnGateway(new PeerReply([message], [], null) { Once = id }) : await SendResumable(message, id) != PeerPresence.NotOpen;
    }

    async Task<PeerPresence> IPeerGrain.GetPresence() =>
        !await IsOpenElseForget() ? PeerPresence.NotOpen : IsDetached ? PeerPresence.Detached : PeerPresence.Connected;

    private static PeerPresence Connected(bool applied) => applied ? PeerPresence.Connected : PeerPresence.NotOpen;

    async Task<bool> IPeerGrain.Close(int code, string reason)
    {
        if (!await IsOpenElseForget())
        {
            return false;
        }

        if (IsDetached)
        {
            // No socket to close: the peer ends now, as a close by the handler ends it.
            await CloseAndForget(new CloseDetails(code, reason, WasClean: true), untrack: false);
            return true;
        }

        return await ApplyOnGateway(new PeerReply([], [], new CloseCommand(code, reason, Terminate: false)));
    }

    async Task<bool> IPeerGrain.Terminate()
    {
        if (!await IsOpenElseForget())
        {
            return false;
        }

        if (IsDetached)
        {
            await CloseAndForget(new CloseDetails(CloseCodes.Abnormal, "terminated", WasClean: false), untrack: false);
            return true;
        }

        return await ApplyOnGateway(new PeerReply([], [], new CloseCommand(CloseCodes.Abnormal, "terminated", Terminate: true)));
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
}
