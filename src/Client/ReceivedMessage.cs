using System.Text;

namespace OrleansWs.Client;

/// <summary>A message from the server: its payload as it was sent, and the topic it was published to (for a topic delivery).</summary>
/// <param name="Data">The payload.</param>
/// <param name="IsText">A text message (UTF-8) or a binary one.</param>
/// <param name="Topic">The topic of a published message; <see langword="null"/> for a frame of the peer's own.</param>
public sealed record ReceivedMessage(ReadOnlyMemory<byte> Data, bool IsText, string? Topic = null)
{
    /// <summary>The payload as text.</summary>
    public string Text() => Encoding.UTF8.GetString(Data.Span);
}

/// <summary>What <see cref="ResumableWebSocket.Resumed"/> tells.</summary>
/// <param name="Recovered"><see langword="true"/> when the peer came back with nothing missed; <see langword="false"/> when the server could not
/// resume it (the window ended, or frames were dropped at its bounds) and this is a new peer, or frames are missing.</param>
/// <param name="PeerId">The peer id after the resume (a new one when it was not recovered).</param>
public sealed record ResumedEventArgs(bool Recovered, string PeerId);

/// <summary>What <see cref="ResumableWebSocket.Reconnecting"/> tells.</summary>
/// <param name="Attempt">The reconnect attempt about to be made, from 1.</param>
/// <param name="Delay">The wait before it.</param>
/// <param name="CloseStatus">How the last connection ended: its close code, or <see langword="null"/> when it dropped without one.</param>
public sealed record ReconnectingEventArgs(int Attempt, TimeSpan Delay, int? CloseStatus);

/// <summary>What <see cref="ResumableWebSocket.Closed"/> tells: how the connection ended for good.</summary>
/// <param name="CloseStatus">The close code, or <see langword="null"/> when it dropped without one (and the client gave up reconnecting).</param>
/// <param name="Reason">The close reason.</param>
public sealed record ClosedEventArgs(int? CloseStatus, string? Reason);
