using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using OrleansWs.Hosting;
using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// The live gateways. Which gateways there are is written to grain storage whenever one joins or leaves (not on
/// renewals), so an activation lost with its silo comes back knowing all of them: listings stay complete after a silo
/// dies, and a gateway that died meanwhile still has its peers closed. Each gateway it read back gets a whole lease
/// from the moment it was read: a live one renews well within it, a dead one expires at its end. When the stored list
/// cannot be read (the store is down), the activation rebuilds its list from renewals instead of failing them, which
/// would fence every gateway, and merges the stored one in once it can be read. A gateway that expired or left stays on record as departed
/// until each peer its lists still hold has been closed, so a silo death in the middle only delays those closes.
/// Reentrant, so that renewals never queue behind a slow write (a renewal that waits out its lease fences a gateway).
/// </summary>
[Orleans.Concurrency.Reentrant]
internal sealed partial class GatewayRegistryGrain(ILogger<GatewayRegistryGrain> logger) : Grain, IGatewayRegistryGrain
{
    // Leases are checked this often, so a dead gateway's peers hear of it within lease + this.
    private static readonly TimeSpan CheckPeriod = TimeSpan.FromMilliseconds(500);
    private readonly Dictionary<Guid, DateTime> _expiresUtc = [];
    private PeerState<GatewayRegistryState> _stored = null!;
    private bool _storing;
    private Task _writing = Task.CompletedTask;

    // Departed gateways whose lists are being closed now.
    private readonly HashSet<Guid> _closing = [];

    // The live lists, which calls change while a write is in flight (the grain is reentrant): each write stores a copy.
    private Dictionary<Guid, GatewayRegistration> Gateways { get; set; } = [];

    private Dictionary<Guid, CloseDetails> Departed { get; set; } = [];

    // When the lease check last ran: a check that comes late (this silo stalled) must not expire gateways whose
    // renewals were held up with it.
    private DateTime _lastCheckUtc = DateTime.UtcNow;

    // While the stored list cannot be read, it is tried again every this many checks (5 s).
    private const int UnreadRetryChecks = 10;
    private int _checksUnread;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var storage = ServiceProvider.GetRequiredKeyedService<IGrainStorage>(OrleansWsStorage.PeerState);
        _stored = new PeerState<GatewayRegistryState>(storage, this.GetGrainId(), logger, OrleansWsStorage.GatewayRegistryStateName);
        if (!await ReadStored())
        {
            LogRegistryUnread();
        }

        this.RegisterGrainTimer(ExpireLeases, new GrainTimerCreationOptions(CheckPeriod, CheckPeriod) { Interleave = true });
    }

    // Merges the stored lists into the live ones: each gateway read back gets a whole lease from now (unless it renewed
    // meanwhile), each departure is closed again. Tried at activation and, while the store cannot be read, on checks.
    private async Task<bool> ReadStored()
    {
        try
        {
            await _stored.ReadStateAsync();
        }
        catch (OrleansException)
        {
            return false;
        }

        var now = DateTime.UtcNow;
        foreach (var (gatewayId, registration) in _stored.State.Gateways)
        {
            if (Gateways.TryAdd(gatewayId, registration))
            {
                _expiresUtc[gatewayId] = now + registration.Lease;
            }
        }

        foreach (var (gatewayId, details) in _stored.State.Departed)
        {
            Departed.TryAdd(gatewayId, details);
        }

        var joined = _storing;
        _storing = true;
        if (!joined && _stored.State.Gateways.Count != Gateways.Count)
        {
            // Gateways that joined while the store was unreadable are on record from now on.
            await Save();
        }

        return true;
    }

    public async Task Renew(Guid gatewayId, IGatewayDelivery delivery, TimeSpan lease)
    {
        if (Departed.ContainsKey(gatewayId))
        {
            // Its peers are being closed as gone: a new lease now would have new peers closed with them.
            throw new InvalidOperationException($"Gateway {gatewayId} lost its lease; its peers are still being closed.");
        }

        var registration = new GatewayRegistration(delivery, lease);
        var known = Gateways.GetValueOrDefault(gatewayId);
        Gateways[gatewayId] = registration;
        if (_storing && known != registration)
        {
            // A renewal that adds a gateway returns once it is on record: a failed write fails it (the gateway renews
            // again), and the gateway is not live until it is stored.
            try
            {
                await Write();
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

                // The stored ETag is unknown after a failed write: the next activation reads the record afresh.
                DeactivateOnIdle();
                throw;
            }
        }

        _expiresUtc[gatewayId] = DateTime.UtcNow + lease;
    }

    // Its sockets were closed with 1001 and their grains told, but a close still in flight (or lost with a silo) leaves a
    // peer listed: those close here, as the gateway said.
    public Task Remove(Guid gatewayId) => Leave(gatewayId, Stopped);

    public Task Depart(Guid gatewayId) => Leave(gatewayId, Lost);

    private async Task Leave(Guid gatewayId, CloseDetails details)
    {
        _expiresUtc.Remove(gatewayId);
        Gateways.Remove(gatewayId);
        Departed.TryAdd(gatewayId, details);
        await Save();
        CloseDeparted();
    }

    public Task<IReadOnlyList<IGatewayDelivery>> GetLive()
    {
        var now = DateTime.UtcNow;
        return Task.FromResult<IReadOnlyList<IGatewayDelivery>>(_expiresUtc
            .Where(g => g.Value >= now)
            .Select(g => Gateways.GetValueOrDefault(g.Key)?.Delivery)
            .OfType<IGatewayDelivery>()
            .ToArray());
    }

    private async Task ExpireLeases()
    {
        if (!_storing && ++_checksUnread % UnreadRetryChecks == 0)
        {
            await ReadStored();
        }

        var now = DateTime.UtcNow;
        var stalled = now - _lastCheckUtc - CheckPeriod;
        _lastCheckUtc = now;
        if (stalled > CheckPeriod)
        {
            // This activation did not run for a while: renewals that arrived meanwhile are still queued. Every lease
            // gets the lost time back before anything expires.
            foreach (var gatewayId in _expiresUtc.Keys.ToList())
            {
                _expiresUtc[gatewayId] += stalled;
            }
        }

        var expired = _expiresUtc.Where(g => g.Value < now).Select(g => g.Key).ToList();
        foreach (var gatewayId in expired)
        {
            _expiresUtc.Remove(gatewayId);
            Gateways.Remove(gatewayId);
            Departed.TryAdd(gatewayId, Lost);
        }

        if (expired.Count > 0)
        {
            await Save();
        }

        CloseDeparted();
    }

    // Each departed gateway's lists close their peers, in parallel; one whose peers could not all be told yet is tried
    // again on the next check, and stays departed (on record) until every peer has been.
    private void CloseDeparted()
    {
        foreach (var (gatewayId, details) in Departed)
        {
            if (_closing.Add(gatewayId))
            {
                _ = CloseLists(gatewayId, details);
            }
        }
    }

    private async Task CloseLists(Guid gatewayId, CloseDetails details)
    {
        try
        {
            var closed = await Task.WhenAll(GatewayPeerLists.All(GrainFactory, gatewayId).Select(list => list.Close(details)));
            if (closed.All(done => done) && Departed.Remove(gatewayId))
            {
                await Save();
            }
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            LogCloseFailed(ex, gatewayId);
        }
        finally
        {
            _closing.Remove(gatewayId);
        }
    }

    // A change that could not be written comes back with the next activation: a departure is then closed again, which
    // closes nothing twice (its lists are empty, or skip closed peers). The next activation reads the record afresh,
    // which a write that failed (perhaps after it landed) leaves this one unsure of.
    private async Task Save()
    {
        if (!_storing)
        {
            return;
        }

        try
        {
            await Write();
        }
        catch (OrleansException ex)
        {
            LogRegistryWriteFailed(ex);
            DeactivateOnIdle();
        }
    }

    // One write at a time, each of the whole list: interleaved callers must not write with the same ETag.
    private Task Write() => _writing = WriteAfter(_writing);

    private async Task WriteAfter(Task previous)
    {
        try
        {
            await previous;
        }
        catch (OrleansException)
        {
            // Its caller has seen it.
        }

        _stored.State = new GatewayRegistryState { Gateways = new(Gateways), Departed = new(Departed) };
        await _stored.WriteStateAsync();
    }

    private static readonly CloseDetails Lost = new(CloseCodes.Abnormal, "gateway lost", WasClean: false);

    private static readonly CloseDetails Stopped = new(CloseCodes.GoingAway, "gateway stopped", WasClean: false);

    [LoggerMessage(EventId = 122, EventName = "GatewayCloseFailed", Level = LogLevel.Warning, Message = "Closing the peers of gone gateway {GatewayId} failed; tried again within a second.")]
    private partial void LogCloseFailed(Exception exception, Guid gatewayId);

    [LoggerMessage(EventId = 123, EventName = "RegistryWriteFailed", Level = LogLevel.Warning, Message = "Writing the list of gateways failed; a gateway that left may come back with the next activation and expire again.")]
    private partial void LogRegistryWriteFailed(Exception exception);

    [LoggerMessage(EventId = 124, EventName = "RegistryUnread", Level = LogLevel.Warning, Message = "The stored list of gateways could not be read; this activation rebuilds the list from renewals and reads it again every 5 s until it can.")]
    private partial void LogRegistryUnread();
}

/// <summary>The gateways the cluster knows of, as written to storage.</summary>
[GenerateSerializer]
internal sealed class GatewayRegistryState
{
    [Id(0)] public Dictionary<Guid, GatewayRegistration> Gateways { get; set; } = [];

    /// <summary>Gateways that expired or left, with how their peers close, until every one of those peers has.</summary>
    [Id(1)] public Dictionary<Guid, CloseDetails> Departed { get; set; } = [];
}

/// <summary>How the cluster reaches a gateway, and the lease it renews.</summary>
[GenerateSerializer, Immutable]
internal sealed record GatewayRegistration([property: Id(0)] IGatewayDelivery Delivery, [property: Id(1)] TimeSpan Lease);
