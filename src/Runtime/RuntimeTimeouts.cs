namespace OrleansWs.Internal;

/// <summary>
/// The waits the runtime puts inside a hook call, derived from one another so that an outer bound always outlasts the
/// inner ones it contains (docs/architecture.md "Timeouts" says what each one costs when it fires). The gateway's grain-call
/// timeout (<c>WebSocketGatewayOptions.GrainCallTimeout</c>) must outlast <see cref="LongestCallWait"/>.
/// </summary>
internal static class RuntimeTimeouts
{
    /// <summary>A gateway's answer to a grain (queueing a send, a listing, a buffered amount): one later than this is taken as gone.</summary>
    public static readonly TimeSpan GatewayAnswer = TimeSpan.FromSeconds(2);

    /// <summary><c>Peer.WaitForDrain</c>'s default wait.</summary>
    public static readonly TimeSpan DrainDefault = TimeSpan.FromSeconds(5);

    /// <summary>How long a new topic subscription waits for its join marker before the subscribe fails.</summary>
    public static readonly TimeSpan TopicJoin = TimeSpan.FromSeconds(10);

    /// <summary>A hook's subscribe waits this long for its gateway: the join, and a gateway answer either side of it.</summary>
    public static readonly TimeSpan TopicChange = TopicJoin + 2 * GatewayAnswer;

    /// <summary>The longest single wait of the runtime inside a hook: a subscribe, or a default drain and its answer.</summary>
    public static readonly TimeSpan LongestHookWait = TopicChange > DrainDefault + GatewayAnswer ? TopicChange : DrainDefault + GatewayAnswer;

    /// <summary>
    /// What a grain call from a gateway must outlast: the longest single wait inside a hook, and a publish's wait for
    /// its gateways to queue it at its default (<c>PublishQueuedTimeout</c>, a gateway answer).
    /// </summary>
    public static readonly TimeSpan LongestCallWait = LongestHookWait + GatewayAnswer;
}
