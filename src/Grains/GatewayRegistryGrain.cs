using OrleansWs.Protocol;

namespace OrleansWs;

/// <summary>
/// The live gateways, in memory. Gateways renew well within their lease, so after this activation
/// is lost (a silo died) the list is whole again within one renewal period.
/// </summary>
internal sealed class GatewayRegistryGrain : Grain, IGatewayRegistryGrain
{
    private readonly Dictionary<Guid, (IGatewayDelivery Delivery, DateTime ExpiresUtc)> _gateways = [];

    public Task Renew(Guid gatewayId, IGatewayDelivery delivery, TimeSpan lease)
    {
        _gateways[gatewayId] = (delivery, DateTime.UtcNow + lease);
        return Task.CompletedTask;
    }

    public Task Remove(Guid gatewayId)
    {
        _gateways.Remove(gatewayId);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<IGatewayDelivery>> GetLive()
    {
        var now = DateTime.UtcNow;
        foreach (var expired in _gateways.Where(g => g.Value.ExpiresUtc < now).Select(g => g.Key).ToList())
        {
            _gateways.Remove(expired);
        }

        return Task.FromResult<IReadOnlyList<IGatewayDelivery>>(_gateways.Values.Select(g => g.Delivery).ToArray());
    }
}
