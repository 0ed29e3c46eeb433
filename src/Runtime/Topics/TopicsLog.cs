using Microsoft.Extensions.Logging;

namespace OrleansWs.Internal;

// The topic feature's log lines. They kept the EventIds they had when the gateway logged them: never
// reuse or renumber one (the gateway's own ids skip these).
internal static partial class TopicsLog
{
    [LoggerMessage(12, LogLevel.Error, "Subscribing to topic {Topic} failed.", EventName = "TopicSubscribeFailed")]
    public static partial void TopicSubscribeFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(13, LogLevel.Warning, "Unsubscribing from topic {Topic} failed; the cluster drops the subscription with this gateway.", EventName = "TopicUnsubscribeFailed")]
    public static partial void TopicUnsubscribeFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(15, LogLevel.Error, "The stream of topic {Topic} reported an error.", EventName = "TopicStreamError")]
    public static partial void TopicStreamError(ILogger logger, Exception exception, string topic);

    [LoggerMessage(30, LogLevel.Warning, "This gateway's subscription to topic {Topic} was fenced; its {Count} subscribers of it are closed (1013).", EventName = "TopicFenced")]
    public static partial void TopicFenced(ILogger logger, string topic, int count);

    [LoggerMessage(31, LogLevel.Error, "Fanning out a publish of topic {Topic} failed; this gateway's subscription of it is fenced.", EventName = "TopicReceiverFailed")]
    public static partial void TopicReceiverFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(32, LogLevel.Warning, "Acknowledging {Count} queued publishes to their topic queue failed; a publisher waiting for them fences this gateway's subscription at its bound.", EventName = "TopicAckFailed")]
    public static partial void TopicAckFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(33, LogLevel.Warning, "This gateway had not queued a publish of topic {Topic} within the causal barrier's bound; its subscription is fenced.", EventName = "TopicBarrierFenced")]
    public static partial void TopicBarrierFenced(ILogger logger, string topic);

    [LoggerMessage(34, LogLevel.Warning, "Publishes of topic {Topic} that did not reach this gateway are gone from its history too; its subscription is fenced.", EventName = "TopicGap")]
    public static partial void TopicGap(ILogger logger, string topic);

    [LoggerMessage(35, LogLevel.Information, "Publishes of topic {Topic} after position {After} had not reached this gateway; it caught up from the topic's history up to {Position}.", EventName = "TopicCaughtUp")]
    public static partial void TopicCaughtUp(ILogger logger, string topic, long after, long position);

    [LoggerMessage(36, LogLevel.Error, "Reading the history of topic {Topic} to catch up failed for 10 s; this gateway's subscription of it is fenced.", EventName = "TopicCatchUpFailed")]
    public static partial void TopicCatchUpFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(37, LogLevel.Error, "Topics are held in this silo's memory, but the cluster has {Silos} silos: publishes appended on one silo do not reach readers on another. Give every silo one durable topic log (silo.AddOrleansWsRedisTopics).", EventName = "TopicLogInOneSilo")]
    public static partial void LogInOneSilo(ILogger logger, int silos);

    [LoggerMessage(38, LogLevel.Warning, "This gateway's subscription to topic {Topic} had received nothing past position {Last} for a second while the topic went on to {Tail}; it caught up from the history.", EventName = "TopicStalled")]
    public static partial void TopicStalled(ILogger logger, string topic, long last, long tail);

    [LoggerMessage(39, LogLevel.Warning, "The stream of topic {Topic} no longer delivers to this gateway (Orleans dropped its subscription); it subscribes anew.", EventName = "TopicRenewed")]
    public static partial void TopicRenewed(ILogger logger, string topic);
}
