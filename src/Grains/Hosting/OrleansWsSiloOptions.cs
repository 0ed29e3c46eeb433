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
}
