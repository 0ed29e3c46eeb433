namespace OrleansWs.Internal;

/// <summary>The names that silos and gateways must agree on.</summary>
internal static class OrleansWsNames
{
    /// <summary>The stream provider that carries topics. Silos and gateways both register it.</summary>
    public const string StreamProvider = "OrleansWs";

    /// <summary>The stream namespace of topics; the stream key is the topic name.</summary>
    public const string TopicNamespace = "orleansws.topic";

}
