namespace OrleansWs.Gateway;

// Every gateway log line. EventIds are fixed forever: never reuse or renumber one. 12, 13, 15, 30 and 31
// belong to the topic feature (OrleansWs.Internal.TopicsLog).
// Client misbehaviour logs at Debug; failures of ours or of the cluster at Warning or Error.
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Plain HTTP request to WebSocket endpoint {Path}; answered 426.", EventName = "NotWebSocketRequest")]
    public static partial void NotWebSocketRequest(ILogger logger, string path);

    [LoggerMessage(22, LogLevel.Debug, "Malformed WebSocket upgrade to {Path} refused: {Problem}", EventName = "MalformedUpgrade")]
    public static partial void MalformedUpgrade(ILogger logger, string path, string problem);

    [LoggerMessage(2, LogLevel.Debug, "Upgrade to {Path} from origin {Origin} refused with 403.", EventName = "OriginRejected")]
    public static partial void OriginRejected(ILogger logger, string path, string origin);

    [LoggerMessage(3, LogLevel.Error, "Connecting peer {PeerId} failed in the cluster; answered 503.", EventName = "ConnectFailed")]
    public static partial void ConnectFailed(ILogger logger, Exception exception, string peerId);

    [LoggerMessage(4, LogLevel.Debug, "Upgrade of peer {PeerId} rejected by its handler with {Status}.", EventName = "UpgradeRejected")]
    public static partial void UpgradeRejected(ILogger logger, string peerId, int status);

    [LoggerMessage(5, LogLevel.Debug, "Peer {PeerId} open.", EventName = "PeerOpened")]
    public static partial void PeerOpened(ILogger logger, string peerId);

    [LoggerMessage(6, LogLevel.Debug, "Peer {PeerId} closed: {Code} '{Reason}', clean: {WasClean}.", EventName = "PeerClosed")]
    public static partial void PeerClosed(ILogger logger, string peerId, int code, string reason, bool wasClean);

    [LoggerMessage(7, LogLevel.Debug, "Peer {PeerId} sent a message over {MaxMessageSize} bytes; closing with 1009.", EventName = "MessageTooBig")]
    public static partial void MessageTooBig(ILogger logger, string peerId, int maxMessageSize);

    [LoggerMessage(8, LogLevel.Information, "Peer {PeerId} fell {QueuedBytes} bytes behind; closing with {Code} and dropping its queue.", EventName = "SlowPeer")]
    public static partial void SlowPeer(ILogger logger, string peerId, long queuedBytes, int code);

    [LoggerMessage(9, LogLevel.Error, "A call to the grain of peer {PeerId} with {Count} messages failed; they may have run. Closing the peer with 1011.", EventName = "GrainCallFailed")]
    public static partial void GrainCallFailed(ILogger logger, Exception exception, string peerId, int count);

    [LoggerMessage(26, LogLevel.Warning, "Refused peer {PeerId}: this gateway has lost its lease and holds none yet; answered 503.", EventName = "RefusedWithoutLease")]
    public static partial void RefusedWithoutLease(ILogger logger, string peerId);

    [LoggerMessage(25, LogLevel.Error, "{Count} messages of peer {PeerId} read after its failed grain call were never delivered.", EventName = "MessagesLost")]
    public static partial void MessagesLost(ILogger logger, string peerId, int count);

    [LoggerMessage(10, LogLevel.Warning, "Telling the grain of peer {PeerId} that it closed failed while this gateway stopped; it stays listed under this gateway, and the cluster closes it (1001).", EventName = "ClosedCallFailed")]
    public static partial void ClosedCallFailed(ILogger logger, Exception exception, string peerId);

    [LoggerMessage(24, LogLevel.Warning, "Telling the grain of peer {PeerId} that it closed failed; asking again in {Delay} (a close is idempotent).", EventName = "ClosedCallRetried")]
    public static partial void ClosedCallRetried(ILogger logger, Exception exception, string peerId, TimeSpan delay);

    [LoggerMessage(11, LogLevel.Debug, "The socket of peer {PeerId} failed (state {State}).", EventName = "SocketFailed")]
    public static partial void SocketFailed(ILogger logger, Exception exception, string peerId, System.Net.WebSockets.WebSocketState state);

    [LoggerMessage(14, LogLevel.Warning, "Renewing this gateway's registration failed; retrying.", EventName = "RegistrationFailed")]
    public static partial void RegistrationFailed(ILogger logger, Exception exception);

    [LoggerMessage(16, LogLevel.Debug, "The client of peer {PeerId} left during the handshake.", EventName = "AcceptFailed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception, string peerId);

    [LoggerMessage(23, LogLevel.Warning, "The handshake of peer {PeerId} failed after its grain accepted it; the peer is closed.", EventName = "HandshakeFailed")]
    public static partial void HandshakeFailed(ILogger logger, Exception exception, string peerId);

    [LoggerMessage(18, LogLevel.Error, "Gateway {GatewayId} lost its lease in the cluster; closing its {Count} sockets with 1012 (their grains were closed).", EventName = "LeaseLost")]
    public static partial void LeaseLost(ILogger logger, Guid gatewayId, int count);

    [LoggerMessage(19, LogLevel.Error, "The send loop of peer {PeerId} failed; its socket is aborted.", EventName = "SendLoopFailed")]
    public static partial void SendLoopFailed(ILogger logger, Exception exception, string peerId);

    [LoggerMessage(17, LogLevel.Information, "Gateway {GatewayId} closing {Count} sockets with 1001: the host is stopping.", EventName = "ShuttingDown")]
    public static partial void ShuttingDown(ILogger logger, Guid gatewayId, int count);

    [LoggerMessage(27, LogLevel.Debug, "Resumable peer {PeerId} sent a frame outside the resume protocol (a header that does not parse, or a message number out of order); closed with 1002.", EventName = "ResumeProtocolError")]
    public static partial void ResumeProtocolError(ILogger logger, string peerId);

    [LoggerMessage(28, LogLevel.Debug, "A resume was refused; the socket is closed with 4403.", EventName = "ResumeRefused")]
    public static partial void ResumeRefused(ILogger logger);

    [LoggerMessage(29, LogLevel.Warning, "The history of topic {Topic} could not be read for resumed peer {PeerId}; its client is told the resume did not recover.", EventName = "ResumeCatchUpFailed")]
    public static partial void ResumeCatchUpFailed(ILogger logger, Exception exception, string peerId, string topic);

    [LoggerMessage(30, LogLevel.Warning, "Frames of resumable peer {PeerId} waited for one before them that did not come; the connection is closed with 1012 and its client resumes.", EventName = "ResumeFramesMissing")]
    public static partial void ResumeFramesMissing(ILogger logger, string peerId);
}
