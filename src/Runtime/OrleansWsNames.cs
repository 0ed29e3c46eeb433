namespace OrleansWs.Internal;

/// <summary>The names that silos and gateways must agree on.</summary>
internal static class OrleansWsNames
{
    /// <summary>The stream provider that carries topics. Silos and gateways both register it.</summary>
    public const string StreamProvider = "OrleansWs";

    /// <summary>The stream namespace of topics; the stream key is the topic name.</summary>
    public const string TopicNamespace = "orleansws.topic";

    /// <summary>
    /// The number of queues topics are spread over (<see cref="ITopicQueueGrain"/>). Silos and gateways
    /// must agree, since both map a topic to its queue; each queue has one reader in the cluster.
    /// </summary>
    public const int TopicQueues = 4;
}
