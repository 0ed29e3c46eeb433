namespace OrleansWs.Silo.Demo;

/// <summary><c>/ws/echo</c>: every message goes back to its sender unchanged (text stays text, binary stays binary).</summary>
[GrainType("echo")]
public sealed class EchoHandler : WebSocketHandler
{
    /// <inheritdoc />
    public override Task OnMessage(Peer peer, Message message) => peer.Send(message);
}
