using Microsoft.Extensions.Logging;
using OrleansWs.Hosting;
using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// The live gateways. Which gateways there are is written to grain storage whenever one joins or leaves (not on
/// renewals), so an activation lost with its silo comes back knowing all of them: listings stay complete after a silo
/// dies, and a gateway that died meanwhile still has its peers closed. Each gateway it read back gets a whole lease
/// from the moment it was read: a live one renews well within it, a dead one expires at its end.
/// </summary>
internal sealed partial class GatewayRegistryGrain(
    [PersistentState("gateways", OrleansWsStorage.PeerState)] IPersistentState<GatewayRegistryState> registered,
    ILogger<GatewayRegistryGrain> logger) : Grain, IGatewayRegistryGrain
{
    // Leases are checked this often, so a dead gateway's peers hear of it within lease + this.
    private static readonly TimeSpan CheckPeriod = TimeSpan.FromMilliseconds(500);
    private readonly Dictionary<Guid, DateTime> _expiresUtc = [];

    private Dictionary<Guid, GatewayRegistration> Gateways => registered.State.Gateways;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var now = DateTime.UtcNow;
        foreach (var (gatewayId, registration) in Gateways)
        {
            _expiresUtc[gatewayId] = now + registration.Lease;
        }

        this.RegisterGrainTimer(ExpireLeases, new GrainTimerCreationOptions(CheckPeriod, CheckPeriod) { Interleave = true });
        return Task.CompletedTask;
    }

    public async Task Renew(Guid gatewayId, IGatewayDelivery delivery, TimeSpan lease)
    {
        _expiresUtc[gatewayId] = DateTime.UtcNow + lease;
        var registration = new GatewayRegistration(delivery, lease);
        if (Gateways.TryGetValue(gatewayId, out var known) && known == registration)
        {
            return;
        }

        // A renewal returns once the gateway is on record: a failed write fails the renewal, which the gateway repeats.
        Gateways[gatewayId] = registration;
        try
        {
            await registered.WriteStateAsync();
        }
        catch
        {
            if (known is null)
            {
                Gateways.Remove(gatewayId);
            }
            else
            {
                Gateways[gatewayId] = known;
            }

            throw;
        }
    }

    public async Task Remove(Guid gatewayId)
    {
        _expiresUtc.Remove(gatewayId);
        if (Gateways.Remove(gatewayId))
        {
            await Save();
        }

        await GrainFactory.GetGrain<IGatewayPeersGrain>(gatewayId).Forget();
    }

    public Task<IReadOnlyList<IGatewayDelivery>> GetLive()
    {
        var now = DateTime.UtcNow;
        return Task.FromResult<IReadOnlyList<IGatewayDelivery>>(_expiresUtc.Where(g => g.Value >= now).Select(g => Gateways[g.Key].Delivery).ToArray());
    }

    private async Task ExpireLeases()
    {
        var now = DateTime.UtcNow;
        var expired = _expiresUtc.Where(g => g.Value < now).Select(g => g.Key).ToList();
        if (expired.Count == 0)
        {
            return;
        }

        foreach (var gatewayId in expired)
        {
            _expiresUtc.Remove(gatewayId);
            Gateways.Remove(gatewayId);
        }

        await Save();

        // Each expired gateway's own list closes its peers, in parallel.
        await Task.WhenAll(expired.Select(Expire));
    }

    // A departure that could not be written comes back with the next activation and expires again one lease later;
    // expiring a gateway twice closes nothing twice, since its list is empty after the first.
    private async Task Save()
    {
        try
        {
            await registered.WriteStateAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRegistryWriteFailed(ex);
        }
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

    [LoggerMessage(EventId = 123, EventName = "RegistryWriteFailed", Level = LogLevel.Warning, Message = "Writing the list of gateways failed; a gateway that left may come back with the next activation and expire again.")]
    private partial void LogRegistryWriteFailed(Exception exception);
}

/// <summary>The gateways the cluster knows of, as written to storage.</summary>
[GenerateSerializer]
internal sealed class GatewayRegistryState
{
    [Id(0)] public Dictionary<Guid, GatewayRegistration> Gateways { get; set; } = [];
}

/// <summary>How the cluster reaches a gateway, and the lease it renews.</summary>
[GenerateSerializer, Immutable]
internal sealed record GatewayRegistration([property: Id(0)] IGatewayDelivery Delivery, [property: Id(1)] TimeSpan Lease);
