using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// What the hooks of one grain call asked for, as a record the pipeline reads when it commits them.
/// Nothing leaves the grain while hooks run but subscribes (applied at once, <see cref="IPeerSocket.ChangeTopic"/>). Two
/// kinds: effects on the peer's own connection (frames, a close), which go back to its gateway in the call's reply, and
/// effects elsewhere in
/// the cluster (publishes, and sends and closes to other peers, also those made through
/// <see cref="IWebSocketPeers"/> from a hook), kept in the order they were made.
/// </summary>
internal sealed class PeerEffects(string peerId, HandlerHost host)
{
    private List<Message>? _frames;
    private bool _topicsChanged;
    private List<ClusterEffect>? _cluster;
    private HookPeers? _peers;

    public CloseCommand? Close { get; private set; }

    /// <summary>The effects of <c>OnOpen</c>: the socket opens with the call's reply.</summary>
    public bool Opening { get; init; }

    /// <summary>The effects of <c>OnClose</c> (or of <c>OnError</c> for a socket error): the socket has ended.</summary>
    public bool SocketClosed { get; init; }

    /// <summary>The hooks run for messages read before the connection's end was decided: frames sent now are not delivered.</summary>
    public bool SocketClosing { get; init; }

    public bool Closing => Close is not null;

    /// <summary>The hooks changed the peer's topics since the record was last written.</summary>
    public bool ChangesTopics => _topicsChanged;

    public IReadOnlyList<Message>? Frames => _frames;

    /// <summary>For a resumable peer, the sequences the commit gave <see cref="Frames"/>.</summary>
    public long[]? Seqs { get; set; }

    /// <summary>For a resumable peer, the sequence handed out before the first of <see cref="Seqs"/>.</summary>
    public long PrevSeq { get; set; }


    /// <summary>Whether the hooks published anything not yet taken.</summary>
    public bool Publishes => _cluster?.Exists(e => e is ClusterEffect.Publish) == true;

    /// <summary>Takes the publishes, sends and closes to other peers recorded so far, in the order the hooks made them.</summary>
    public List<ClusterEffect>? TakeCluster()
    {
        var cluster = _cluster;
        _cluster = null;
        return cluster;
    }

    /// <summary>What <c>Peers</c> is while a hook runs: its sends, closes and publishes become effects of the hook.</summary>
    public IWebSocketPeers Peers => _peers ??= new HookPeers(this, host);

    public void Send(Message message)
    {
        // As on a closing socket, frames after a close are not sent.
        if (!Closing)
        {
            (_frames ??= []).Add(message);
        }
    }

    /// <summary>The peer's topics changed (the gateway applied the change at once); the record must be written.</summary>
    public void TopicsChanged() => _topicsChanged = true;

    /// <summary>The record, topics included, was written.</summary>
    public void TopicsWritten() => _topicsChanged = false;

    public void Publish(string topic, Message message, PublishOptions options)
    {
        // Consecutive publishes to one topic (a batch of messages to a room) leave as one publish.
        if (_cluster is [.., ClusterEffect.Publish last] && last.Topic == topic && last.Options == options)
        {
            last.Messages.Add(message);
            return;
        }

        (_cluster ??= []).Add(new ClusterEffect.Publish(topic, options, [message]));
    }

    public void RequestClose(int code, string reason, bool terminate) => Close ??= new CloseCommand(code, reason, terminate);

    /// <summary>Forgets the own connection's frames, delivered at a commit point in the middle of a hook.</summary>
    public void Delivered() => (_frames, Seqs) = (null, null);

    private void Add(ClusterEffect effect) => (_cluster ??= []).Add(effect);

    // IWebSocketPeers as a hook sees it. Whether a peer is open is asked at once, of its grain, which
    // answers interleaved (two peers asking each other from their hooks never wait on each other); the
    // send or close itself leaves with the hook's other effects, in order.
    private sealed class HookPeers(PeerEffects effects, HandlerHost host) : IWebSocketPeers
    {
        public Task Publish(string topic, Message message) => Publish(topic, message, default(PublishOptions));

        public Task Publish(string topic, Message message, string @namespace)
        {
            ArgumentException.ThrowIfNullOrEmpty(@namespace);
            return Publish(topic, message, new PublishOptions(ExcludePeerId: null, @namespace));
        }

        private Task Publish(string topic, Message message, PublishOptions options)
        {
            ArgumentException.ThrowIfNullOrEmpty(topic);
            ArgumentNullException.ThrowIfNull(message);
            effects.Publish(topic, message, options);
            return Task.CompletedTask;
        }

        public async Task<bool> Send(string peerId, Message message) => await SendTo(peerId, message) != PeerPresence.NotOpen;

        public async Task<PeerPresence> SendTo(string peerId, Message message)
        {
            ArgumentNullException.ThrowIfNull(message);
            if (peerId == effects.PeerId)
            {
                effects.Send(message);
                return effects.Closing || effects.SocketClosing ? PeerPresence.NotOpen : PeerPresence.Connected;
            }

            var presence = await host.Presence(peerId);
            if (presence == PeerPresence.NotOpen)
            {
                // In OnClose, kept all the same (it finds the peer closed when it leaves): a run again after a silo's
                // death names its effects by their place, which must not depend on who was open when.
                if (effects.SocketClosed)
                {
                    effects.Add(new ClusterEffect.Send(peerId, message));
                }

                return presence;
            }

            effects.Add(new ClusterEffect.Send(peerId, message));
            return presence;
        }

        public async Task<bool> Close(string peerId, int code = CloseCodes.Normal, string reason = "")
        {
            CloseCodes.Validate(code, reason);
            return await CloseOrTerminate(peerId, code, reason, terminate: false);
        }

        public Task<bool> Terminate(string peerId) => CloseOrTerminate(peerId, CloseCodes.Abnormal, "terminated", terminate: true);

        public Task<PeerListing> GetPeers(string @namespace) => host.Peers.GetPeers(@namespace);

        public Task<IReadOnlyList<string>?> GetTopics(string peerId) => host.Peers.GetTopics(peerId);

        private async Task<bool> CloseOrTerminate(string peerId, int code, string reason, bool terminate)
        {
            if (peerId == effects.PeerId)
            {
                effects.RequestClose(code, reason, terminate);
                return true;
            }

            if (!await host.IsOpen(peerId))
            {
                if (effects.SocketClosed)
                {
                    effects.Add(new ClusterEffect.Close(peerId, new CloseCommand(code, reason, terminate)));
                }

                return false;
            }

            effects.Add(new ClusterEffect.Close(peerId, new CloseCommand(code, reason, terminate)));
            return true;
        }
    }

    private string PeerId => peerId;
}

/// <summary>An effect of a hook on the cluster beyond its own connection.</summary>
internal abstract record ClusterEffect
{
    /// <summary>Messages published to a topic, in order, as one publish.</summary>
    public sealed record Publish(string Topic, PublishOptions Options, List<Message> Messages) : ClusterEffect;

    /// <summary>A message for another peer.</summary>
    public sealed record Send(string PeerId, Message Message) : ClusterEffect;

    /// <summary>A close (or termination) of another peer.</summary>
    public sealed record Close(string PeerId, CloseCommand Command) : ClusterEffect;
}
