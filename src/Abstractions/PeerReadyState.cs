namespace OrleansWs;

/// <summary>
/// Where a peer's socket stands, as a hook sees it: crossws' <c>peer.websocket.readyState</c>, with the
/// WebSocket API's numbers.
/// </summary>
public enum PeerReadyState
{
    /// <summary>The handshake has not completed (not seen by hooks: <c>OnOpen</c> runs once the peer is accepted).</summary>
    Connecting = 0,

    /// <summary>The socket is open: <c>OnOpen</c>, <c>OnMessage</c>, and <c>OnError</c> for a hook that threw.</summary>
    Open = 1,

    /// <summary>
    /// The connection's end is decided: the hook running now asked to close or terminate it, or the message being
    /// handled was read before the client's close frame. Sends are not delivered.
    /// </summary>
    Closing = 2,

    /// <summary>The socket has ended: <c>OnClose</c>, and <c>OnError</c> for a socket error.</summary>
    Closed = 3,
}
