namespace OrleansWs.Gateway;

/// <summary>
/// How a connection is to end, decided once (the first request wins): the close frame to send (unless
/// <paramref name="Terminate"/>), whether the server asked for it, and whether frames still queued are dropped.
/// </summary>
internal sealed record CloseRequest(int Code, string Reason, bool ByServer, bool DropQueued, bool Terminate);
