namespace OrleansWs.Internal;

/// <summary>
/// The cluster's list of live gateways. Each gateway renews its entry on a timer; an entry that is
/// not renewed within its lease is dropped. Key: always 0.
/// </summary>
public interface IGatewayRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>Adds or refreshes a gateway's entry for <paramref name="lease"/>.</summary>
    Task Renew(Guid gatewayId, IGatewayDelivery delivery, TimeSpan lease);

    /// <summary>Removes a gateway's entry (graceful shutdown): its peers still listed close with 1001.</summary>
    Task Remove(Guid gatewayId);

    /// <summary>
    /// A gateway says its lease under <paramref name="gatewayId"/> was lost (it fenced itself, and goes on under a new id):
    /// the entry is removed and its peers still listed close with 1006, as if the lease had run out.
    /// </summary>
    Task Depart(Guid gatewayId);

    /// <summary>The delivery paths of every gateway whose lease has not expired.</summary>
    Task<IReadOnlyList<IGatewayDelivery>> GetLive();
}
