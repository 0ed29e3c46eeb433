namespace OrleansWs;

/// <summary>The WebSocket close codes (RFC 6455 §7.4.1) that OrleansWs sends or reports.</summary>
public static class CloseCodes
{
    /// <summary>1000: the purpose of the connection was fulfilled.</summary>
    public const int Normal = 1000;
    /// <summary>1001: the server is shutting down or the client navigated away.</summary>
    public const int GoingAway = 1001;
    /// <summary>1002: the peer broke the WebSocket protocol.</summary>
    public const int ProtocolError = 1002;
    /// <summary>1005: the close frame carried no code (reported, never sent).</summary>
    public const int NoStatus = 1005;
    /// <summary>1006: the connection dropped without a close frame (never sent on the wire).</summary>
    public const int Abnormal = 1006;
    /// <summary>1007: a text message was not valid UTF-8.</summary>
    public const int InvalidPayload = 1007;
    /// <summary>1008: the peer broke a policy, e.g. it read too slowly.</summary>
    public const int PolicyViolation = 1008;
    /// <summary>1009: a message was larger than the configured maximum.</summary>
    public const int MessageTooBig = 1009;
    /// <summary>1011: a handler hook threw, or the server failed.</summary>
    public const int InternalError = 1011;
    /// <summary>1012: the service is restarting; reconnect.</summary>
    public const int ServiceRestart = 1012;
    /// <summary>1013: try again later, e.g. the peer's send queue overflowed.</summary>
    public const int TryAgainLater = 1013;

    /// <summary>4403: a resume was refused (a forged or stale token, another user's, or a window that ended); the client connects afresh.</summary>
    public const int ResumeRefused = 4403;

    /// <summary>4409: a resumable connection was superseded by a resume of its peer on another connection.</summary>
    public const int Superseded = 4409;

    /// <summary>The longest close reason, in bytes of UTF-8: what fits a close frame's 125-byte payload after the code.</summary>
    public const int MaxReasonBytes = 123;

    /// <summary>Throws unless <paramref name="code"/> is sendable and <paramref name="reason"/> fits a close frame.</summary>
    public static void Validate(int code, string reason)
    {
        if (!IsSendable(code))
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "Not a close code an application may send.");
        }

        if (!FitsCloseFrame(reason))
        {
            throw new ArgumentException($"A close reason is at most {MaxReasonBytes} bytes of UTF-8.", nameof(reason));
        }
    }

    /// <summary>Whether a close frame may carry <paramref name="code"/> and <paramref name="reason"/> (what <see cref="Validate"/> checks, without throwing).</summary>
    public static bool CanSend(int code, string reason) => IsSendable(code) && FitsCloseFrame(reason);

    private static bool FitsCloseFrame(string reason) => System.Text.Encoding.UTF8.GetByteCount(reason) <= MaxReasonBytes;

    /// <summary>Whether <paramref name="code"/> may be sent in a close frame by an application.</summary>
    public static bool IsSendable(int code) =>
        code is 1000 or (>= 1001 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);
}
