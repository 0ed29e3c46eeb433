namespace OrleansWs;

/// <summary>
/// A WebSocket endpoint's handler grain, as routes name it (<c>MapWebSocketHandler&lt;THandler&gt;</c>).
/// Implement it by deriving from <c>WebSocketHandler&lt;TState&gt;</c> in OrleansWs.Grains; the grain's
/// key is the peer's id, so one activation serves one connected peer.
/// </summary>
public interface IWebSocketHandler : IGrainWithStringKey
{
}
