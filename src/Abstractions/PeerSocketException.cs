namespace OrleansWs;

/// <summary>
/// What <c>OnError</c> receives when the client broke the WebSocket protocol and the gateway closed the
/// socket: a malformed frame (1002), a text message that is not valid UTF-8 (1007) or a message over the
/// gateway's size limit (1009). <c>OnClose</c> follows with the same code.
/// </summary>
public sealed class PeerSocketException : Exception
{
    /// <summary>Creates the error for the close code <paramref name="closeCode"/>.</summary>
    public PeerSocketException(int closeCode, string message)
        : base(message)
    {
        CloseCode = closeCode;
    }

    /// <summary>The close code the gateway closed the socket with: 1002, 1007 or 1009.</summary>
    public int CloseCode { get; }
}
