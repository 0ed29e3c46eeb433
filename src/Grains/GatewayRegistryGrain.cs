using Microsoft.Extensions.Logging;
using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// The live gateways, in memory. Gateways renew well within their lease, so after this activation
/// is lost (a silo died) the list is whole again within one renewal period.
/// </summary>
internal sealed partial class GatewayRegistryGrain(ILogger<GatewayRegistryGrain> logger) : Grain, IGatewayRegistryGrain
{
    // Leases are checked this often, so a dead gateway's peers hear of it within lease + this.
    private static readonly TimeSpan CheckPeriod = TimeSpan.FromMilliseconds(500);
    private readonly Dictionary<Guid, (IGatewayDelivery Delivery, DateTime ExpiresUtc)> _gateways = [];

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(ExpireLeases, new GrainTimerCreationOptions(CheckPeriod, CheckPeriod) { Interleave = true });
        return Task.CompletedTask;
    }

    public Task Renew(Guid gatewayId, IGatewayDelivery delivery, TimeSpan lease)
    {
        _gateways[gatewayId] = (delivery, DateTime.UtcNow + lease);
        return Task.CompletedTask;
    }

    public async Task Remove(Guid gatewayId)
    {
        _gateways.Remove(gatewayId);
        await GrainFactory.GetGrain<IGatewayPeersGrain>(gatewayId).Forget();
    }

    public Task<IReadOnlyList<IGatewayDelivery>> GetLive()
    {
        var now = DateTime.UtcNow;
        return Task.FromResult<IReadOnlyList<IGatewayDelivery>>(_gateways.Values.Where(g => g.ExpiresUtc >= now).Select(g => g.Delivery).ToArray());
    }

    private async Task ExpireLeases()
    {
        var now = DateTime.UtcNow;
        var expired = _gateways.Where(g => g.Value.ExpiresUtc < now).Select(g => g.Key).ToList();
        foreach (var gatewayId in expired)
        {
            _gateways.Remove(gatewayId);
        }

        // Each expired gateway's own list closes its peers, in parallel.
        await Task.WhenAll(expired.Select(Expire));
    }

    private async Task Expire(Guid gatewayId)
    {
        try
        {
            await GrainFactory.GetGrain<IGatewayPeersGrain>(gatewayId).Expire();
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            LogExpireFailed(ex, gatewayId);
        }
    }

    [LoggerMessage(EventId = 122, EventName = "ExpireFailed", Level = LogLevel.Error, Message = "Closing the peers of expired gateway {GatewayId} failed.")]
    private partial void LogExpireFailed(Exception exception, Guid gatewayId);
}
