using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// What a handler needs from outside itself. In a silo the grain runtime provides it; in a unit
/// test (OrleansWs.Testing's HandlerHarness) a fake does, so hooks run without a cluster.
/// </summary>
/// <remarks>
/// A silo holds one per peer, for as long as the peer is connected: an object with overrides rather
/// than a bag of delegates, which would cost a delegate object per peer for each of them.
/// </remarks>
internal abstract class HandlerHost(string peerId, IWebSocketPeers peers, Serializer serializer, ILogger logger)
{
    /// <summary>The peer id (the grain id written out).</summary>
    public string PeerId { get; } = peerId;

    public IWebSocketPeers Peers { get; } = peers;

    public Serializer Serializer { get; } = serializer;

    public ILogger Logger { get; } = logger;

    /// <summary>
    /// Publishes messages to a topic in order, leaving out one peer (the sender) and, when one is given, other
    /// namespaces, and waits (bounded) until every
    /// gateway subscribed to the topic queued the publish.
    /// </summary>
    public abstract Task<TopicQueued> Publish(string topic, IReadOnlyList<Message> messages, PublishOptions options);

    /// <summary>
    /// Sends to another peer; one named by <paramref name="id"/> (an outbox's send) its gateway shows once, however
    /// often it is asked.
    /// </summary>
    public virtual Task<bool> Send(string peerId, Message message, EffectId? id) => Peers.Send(peerId, message);

    /// <summary>Whether the topic log takes publishes now (false once it is known to be unreachable or full).</summary>
    public virtual bool TopicsWritable => true;

    /// <summary>Whether the peer <paramref name="peerId"/> is open (its grain answers interleaved).</summary>
    public async Task<bool> IsOpen(string peerId) => await Presence(peerId) != PeerPresence.NotOpen;

    /// <summary>Whether the peer <paramref name="peerId"/> is open, and with a connection or detached.</summary>
    public virtual async Task<PeerPresence> Presence(string peerId) => await Peers.GetTopics(peerId) is null ? PeerPresence.NotOpen : PeerPresence.Connected;

    /// <summary>Lists this peer in its namespace as detached until <paramref name="untilUtc"/>, or no longer (null).</summary>
    public abstract Task ListDetached(string @namespace, DateTime? untilUtc);

    /// <summary>Adds the peer to (or removes it from) its gateway's list, which the gateway's lease guards.</summary>
    public abstract Task TrackPeer(Guid gatewayId, string peerId, bool open);

    /// <summary>Lets the activation go once it is idle.</summary>
    public abstract void Deactivate();
}
