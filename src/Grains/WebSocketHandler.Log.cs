using Microsoft.Extensions.Logging;

namespace OrleansWs;

public abstract partial class WebSocketHandler<TState>
{
    [LoggerMessage(EventId = 100, EventName = "UpgradeHookFailed", Level = LogLevel.Error, Message = "OnUpgrade threw for {Path}; the request was rejected with 500.")]
    private partial void LogErrorUpgradeHookFailed(Exception exception, string path);

    [LoggerMessage(EventId = 101, EventName = "UnrequestedProtocol", Level = LogLevel.Error, Message = "OnUpgrade chose sub-protocol '{Protocol}' for {Path}, which the client did not request; the request was rejected with 500.")]
    private partial void LogErrorUnrequestedProtocol(string protocol, string path);

    [LoggerMessage(EventId = 111, EventName = "ContextNotSerializable", Level = LogLevel.Error, Message = "The upgrade hook for {Path} gave a context of type {Type}, which Orleans cannot serialize (mark it [GenerateSerializer]); answered 500.")]
    private partial void LogErrorContextNotSerializable(Exception exception, string path, string type);

    [LoggerMessage(EventId = 112, EventName = "ContextUnreadable", Level = LogLevel.Error, Message = "The stored context of peer {PeerId} cannot be read (its type was renamed or removed; give context types an [Alias]); the peer goes on without it.")]
    private partial void LogErrorContextUnreadable(Exception exception, string peerId);

    [LoggerMessage(EventId = 102, EventName = "HookFailed", Level = LogLevel.Error, Message = "A hook of peer {PeerId} threw; the peer is closed with 1011.")]
    private partial void LogErrorHookFailed(Exception exception, string peerId);

    [LoggerMessage(EventId = 103, EventName = "ErrorHookFailed", Level = LogLevel.Error, Message = "OnError of peer {PeerId} threw.")]
    private partial void LogErrorErrorHookFailed(Exception exception, string peerId);

    [LoggerMessage(EventId = 104, EventName = "CloseHookFailed", Level = LogLevel.Error, Message = "OnClose of peer {PeerId} threw; its state is cleared anyway.")]
    private partial void LogErrorCloseHookFailed(Exception exception, string peerId);

    [LoggerMessage(EventId = 113, EventName = "CloseEffectsFailed", Level = LogLevel.Error, Message = "An effect of OnClose of peer {PeerId} on the cluster failed (a publish, or a send or close to another peer); the close completes anyway.")]
    private partial void LogErrorCloseEffectsFailed(Exception exception, string peerId);

    [LoggerMessage(EventId = 105, EventName = "PeerNotOpen", Level = LogLevel.Warning, Message = "{Count} messages arrived for a peer that is not open (its state was lost); the connection is closed with 1011.")]
    private partial void LogWarningNotOpen(int count);

    [LoggerMessage(EventId = 106, EventName = "GatewayGone", Level = LogLevel.Warning, Message = "The gateway {GatewayId} of peer {PeerId} is gone (lease lost, or stopped); closing the peer with {Code}.")]
    private partial void LogWarningGatewayGone(string peerId, Guid gatewayId, int code);

    [LoggerMessage(EventId = 107, EventName = "UntrackFailed", Level = LogLevel.Warning, Message = "Removing closed peer {PeerId} from its gateway's list failed.")]
    private partial void LogWarningUntrackFailed(Exception exception, string peerId);

    [LoggerMessage(EventId = 108, EventName = "PublishFenced", Level = LogLevel.Warning, Message = "A publish to topic {Topic} was not queued by {Count} gateway(s) within PublishQueuedTimeout; they are fenced for the topic and the hook's effects go on without them.")]
    private partial void LogWarningPublishFenced(string topic, int count);

    [LoggerMessage(EventId = 109, EventName = "TargetGone", Level = LogLevel.Debug, Message = "A hook's send or close for peer {PeerId} found it closed.")]
    private partial void LogDebugTargetGone(string peerId);

    [LoggerMessage(EventId = 110, EventName = "DeliveryFailed", Level = LogLevel.Warning, Message = "A hook's send or close for peer {PeerId} did not reach its gateway; the hook's other effects go on.")]
    private partial void LogWarningDeliveryFailed(Exception exception, string peerId);

    [LoggerMessage(EventId = 114, EventName = "TopicsUnwritable", Level = LogLevel.Warning, Message = "A hook of peer {PeerId} published while the topic log is unreachable or full: it fails before its state is written (OnError), and the peer is closed with 1011.")]
    private partial void LogWarningTopicsUnwritable(string peerId);

    [LoggerMessage(EventId = 115, EventName = "OutboxTooOld", Level = LogLevel.Warning, Message = "A stored outbox of {Count} effect(s) is older than the topic log remembers publish ids for; it is not released again.")]
    private partial void LogWarningOutboxTooOld(int count);

    [LoggerMessage(EventId = 116, EventName = "OutboxNotForgotten", Level = LogLevel.Warning, Message = "The released outbox of peer {PeerId} could not be cleared when its activation ended; the next activation releases its sends again, which their gateways may show twice.")]
    private partial void LogWarningOutboxNotForgotten(Exception exception, string peerId);

    [LoggerMessage(EventId = 117, EventName = "ResumeRefused", Level = LogLevel.Debug, Message = "A resume of peer {PeerId} was refused (unknown or wrong token, another user, or the window ended).")]
    private partial void LogDebugResumeRefused(string peerId);

    [LoggerMessage(EventId = 118, EventName = "ResumeOutboxTrimmed", Level = LogLevel.Warning, Message = "The resume outbox of peer {PeerId} dropped its {Count} oldest unacknowledged frame(s) (bounds: {MaxFrames} frames, {MaxBytes} bytes); a resume from before them does not recover.")]
    private partial void LogWarningOutboxTrimmed(string peerId, int count, int maxFrames, long maxBytes);

    [LoggerMessage(EventId = 119, EventName = "PeerDetached", Level = LogLevel.Information, Message = "Peer {PeerId} detached ({Code}); it waits {Seconds} s for its client to resume.")]
    private partial void LogInformationDetached(string peerId, int code, double seconds);

    [LoggerMessage(EventId = 125, EventName = "ResumeTakeover", Level = LogLevel.Information, Message = "Peer {PeerId} resumed while its connection on gateway {GatewayId} was attached; that connection is closed with 4409.")]
    private partial void LogInformationTakeover(string peerId, Guid gatewayId);

    [LoggerMessage(EventId = 126, EventName = "PeerResumed", Level = LogLevel.Debug, Message = "Peer {PeerId} resumed: {Count} frame(s) replayed, recovered: {Recovered}.")]
    private partial void LogDebugResumed(string peerId, int count, bool recovered);

    [LoggerMessage(EventId = 127, EventName = "NoResumeReminder", Level = LogLevel.Error, Message = "The resume window of peer {PeerId} could not be started (a reminder service is needed: e.g. UseInMemoryReminderService, UseRedisReminderService); the peer is closed instead.")]
    private partial void LogErrorNoReminder(Exception exception, string peerId);

    [LoggerMessage(EventId = 128, EventName = "DetachedListingFailed", Level = LogLevel.Warning, Message = "Peer {PeerId} could not be listed as detached, or taken off that list; listings of its namespace may say otherwise until its window ends.")]
    private partial void LogWarningDetachedListing(Exception exception, string peerId);

    [LoggerMessage(EventId = 129, EventName = "HeldSendFailed", Level = LogLevel.Warning, Message = "A send by id to resumable peer {PeerId}, held while one of its calls ran, could not be put on record afterwards; it is lost.")]
    private partial void LogWarningHeldSendFailed(Exception exception, string peerId);
}
