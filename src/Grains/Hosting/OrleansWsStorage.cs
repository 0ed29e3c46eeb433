namespace OrleansWs.Hosting;

/// <summary>The grain storage a silo that runs OrleansWs registers, by name.</summary>
public static class OrleansWsStorage
{
    /// <summary>Peer state (each peer's record and its handler's <c>State</c>), unless a handler names another with <see cref="PeerStorageAttribute"/>.</summary>
    public const string PeerState = "OrleansWs";

    /// <summary>The subscriptions of the topic streams (the name is fixed by Orleans streams).</summary>
    public const string PubSub = "PubSubStore";

    // The state name peer records have always been stored under: part of every record's storage key.
    internal const string PeerRecordStateName = "peer";

    // The cluster's gateways (GatewayRegistryGrain) and each gateway's open peers (GatewayPeersGrain), in the peer store.
    internal const string GatewayRegistryStateName = "gateways";

    internal const string GatewayPeersStateName = "gatewaypeers";

    // Each namespace's detached peers (DetachedPeersGrain), in the peer store.
    internal const string DetachedPeersStateName = "detachedpeers";
}
