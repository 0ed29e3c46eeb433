namespace OrleansWs;

/// <summary>Where a peer stands, as a send by id (<see cref="IWebSocketPeers.SendTo"/>) finds it.</summary>
public enum PeerPresence
{
    /// <summary>No such peer is open: it closed, or never was. Nothing was sent.</summary>
    NotOpen = 0,

    /// <summary>The peer has a connection: the message was queued on its gateway (with resume on, after it was put on record).</summary>
    Connected = 1,

    /// <summary>
    /// The peer's connection dropped and it waits for its client to resume (an endpoint with resume on): the message is
    /// kept in its outbox and shown after the resume, unless the outbox's bounds drop it first or the window ends.
    /// </summary>
    Detached = 2,
}
