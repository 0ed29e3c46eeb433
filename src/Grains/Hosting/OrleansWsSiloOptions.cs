namespace OrleansWs.Hosting;

/// <summary>Silo-side settings of OrleansWs. Defaults are set here and nowhere else.</summary>
public sealed class OrleansWsSiloOptions
{
    /// <summary>
    /// How soon a pulling agent reads its topic queue again after a read that found the queue empty
    /// for a whole long poll (1 s). A publish does not wait for it: a waiting read returns as soon as
    /// something is queued. Default: 5 ms.
    /// </summary>
    public TimeSpan TopicPollingPeriod { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// How long a topic may be silent before its pulling agent forgets it (it picks it up again on the
    /// next publish, re-reading the subscribers). Default: 30 minutes, as Orleans.
    /// </summary>
    public TimeSpan TopicInactivityPeriod { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Longest wait between retries of a failed topic-queue read (after a silo loss). Default: 1 s
    /// (Orleans' own is 10–20 s).
    /// </summary>
    public TimeSpan TopicQueueRetryLimit { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a silo keeps a disconnected gateway (an Orleans client) before dropping it. Once dropped,
    /// calls to it fail at once and Orleans removes its topic subscriptions; until then a topic that a dead
    /// gateway had subscribed may stall up to 30 s on a handshake with it. Set it to the gateways'
    /// <c>Lease</c>: a gateway cut off that long has lost its lease and closed its sockets already.
    /// Default: 15 s, the default lease (Orleans' own default is 1 minute).
    /// </summary>
    public TimeSpan GatewayDropTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a hook's effects wait for the gateways subscribed to a topic it published to to queue that
    /// publish, before its reply (and anything it did later) is released. A gateway that has not queued it
    /// by then is fenced for the topic: its subscribers of it are closed with 1013, so that one slow gateway
    /// never stalls a room for the others. Default: 2 s, the bound of any other answer a grain waits for from a gateway.
    /// </summary>
    public TimeSpan PublishQueuedTimeout { get; set; } = Internal.RuntimeTimeouts.GatewayAnswer;

    /// <summary>
    /// How many partitions topics are spread over: each is one Orleans stream queue, read by one pulling agent in the
    /// cluster, and the agents spread over the silos. Every silo and gateway must use the same count (a gateway is
    /// given it by <c>AddOrleansWs(topicPartitions)</c> on its Orleans client); changing it needs the whole cluster
    /// stopped. Default: 4.
    /// </summary>
    public int TopicPartitions { get; set; } = Internal.TopicPartitions.DefaultCount;

    /// <summary>The most publishes the topic log keeps per partition; older ones are trimmed. Default: 100,000.</summary>
    public int TopicPartitionLength { get; set; } = Internal.TopicLogLimits.Default.PartitionLength;

    /// <summary>The most publishes each topic's history keeps, for a gateway catching up and a peer resuming. Default: 1,000.</summary>
    public int TopicHistoryCount { get; set; } = Internal.TopicLogLimits.Default.HistoryCount;

    /// <summary>How long each topic's history keeps a publish. Default: 10 minutes.</summary>
    public TimeSpan TopicHistoryAge { get; set; } = Internal.TopicLogLimits.Default.HistoryAge;

    internal Internal.TopicLogLimits LogLimits => new(TopicPartitionLength, TopicHistoryCount, TopicHistoryAge);
}
