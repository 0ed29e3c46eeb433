namespace OrleansWs;

/// <summary>How a peer's connection ended, as crossws reports it to its <c>close</c> hook.</summary>
/// <param name="Code">The WebSocket close code; 1006 when the connection dropped without a close frame.</param>
/// <param name="Reason">The close reason, empty when none was given.</param>
/// <param name="WasClean">Whether both sides completed the closing handshake.</param>
[GenerateSerializer, Immutable]
public sealed record CloseDetails(
    [property: Id(0)] int Code,
    [property: Id(1)] string Reason,
    [property: Id(2)] bool WasClean)
{
    /// <summary>
    /// Which run of <c>OnClose</c> this is for the peer: 1, unless the silo running the hook died before the close
    /// completed and another silo runs it again with the same details (make a hook with effects outside the peer
    /// idempotent by keying them on the peer id and this). Counted only for a handler that overrides <c>OnClose</c>.
    /// </summary>
    [Id(3)] public int Attempt { get; init; } = 1;
}
