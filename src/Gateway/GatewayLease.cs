using Microsoft.Extensions.Options;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>
/// This gateway's registration in the cluster: its id, the delivery path the cluster reaches its
/// sockets through, and the lease it renews three times per <see cref="WebSocketGatewayOptions.Lease"/>.
/// When the lease runs out the cluster closes this gateway's peers (<c>OnClose</c> 1006); a gateway that
/// sees its own renewals fail that long closes its sockets (1012) rather than keep ghosts, and while
/// its lease is <see cref="Lost"/> it says nothing to the cluster for the peers it held. Readiness
/// (<c>/readyz</c>) is <see cref="IsReady"/>.
/// </summary>
internal sealed class GatewayLease : IHostedService, IAsyncDisposable
{
    private readonly IClusterClient _client;
    private readonly ConnectionRegistry _connections;
    private readonly WebSocketGatewayOptions _options;
    private readonly ILogger<GatewayLease> _logger;
    private readonly GatewayDelivery _deliveryTarget;
    private readonly CancellationTokenSource _stopping = new();
    private IGatewayDelivery? _delivery;
    private Task? _renewals;
    private long _lastRenewalTicks;
    private bool _lost;

    // Set once by Abandon, never cleared: a renewal already in flight that succeeds afterwards must not make the
    // lease look held again (it clears _lost), or the dead gateway would tell the grains of its sockets' drop.
    private volatile bool _abandoned;

    public GatewayLease(IClusterClient client, ConnectionRegistry connections, IOptions<WebSocketGatewayOptions> options, ILogger<GatewayLease> logger)
    {
        _client = client;
        _connections = connections;
        _options = options.Value;
        _logger = logger;
        // Orleans holds observers weakly: this field keeps the delivery path alive.
        _deliveryTarget = new GatewayDelivery(connections);
    }

    // Ids this gateway held before a lost lease, which the cluster is told to close (their peers) once it answers again.
    private readonly List<Guid> _fenced = [];

    /// <summary>
    /// This gateway's identity in the cluster: new after a lost lease, so that peers listed under the old one are
    /// closed as gone (the gateway closed their sockets with 1012 without telling their grains), and new peers are
    /// listed under a lease the cluster knows to be live.
    /// </summary>
    public Guid Id => Volatile.Read(ref _id).Value;

    // Swapped whole, so a connection never reads half of an old id and half of a new one.
    private System.Runtime.CompilerServices.StrongBox<Guid> _id = new(Guid.NewGuid());

    /// <summary>The path through which the cluster reaches this gateway's sockets.</summary>
    public IGatewayDelivery Delivery => _delivery ?? throw new InvalidOperationException("The gateway has not started.");

    /// <summary>Whether the gateway has stopped talking to the cluster: it is stopping, or it was abandoned.</summary>
    public bool Stopping => _stopping.IsCancellationRequested;

    /// <summary>
    /// Whether the cluster has taken this gateway's lease to have run out, and so has closed its peers
    /// (<c>OnClose</c> 1006, state cleared): messages and closes of its sockets are not sent to their
    /// grains, which would otherwise reopen the state of peers the cluster already closed. It clears
    /// when a renewal succeeds again (a new lease, for new connections).
    /// </summary>
    public bool Lost => _abandoned || Volatile.Read(ref _lost);

    /// <summary>Holds its lease (renewed within the last lease period) and is not stopping: ready for traffic.</summary>
    public bool IsReady =>
        !_stopping.IsCancellationRequested
        && Interlocked.Read(ref _lastRenewalTicks) != 0
        && Environment.TickCount64 - Interlocked.Read(ref _lastRenewalTicks) < _options.Lease.TotalMilliseconds;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _delivery = _client.CreateObjectReference<IGatewayDelivery>(_deliveryTarget);
        await Renew();
        _renewals = RenewForever();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_renewals is not null)
        {
            await _renewals;
        }

        try
        {
            var registry = _client.GetGrain<IGatewayRegistryGrain>(0);
            foreach (var old in _fenced)
            {
                await registry.Depart(old).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            }

            await registry.Remove(Id).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException or OperationCanceledException)
        {
            // The lease runs out on its own.
            Log.RegistrationFailed(_logger, ex);
        }
    }

    /// <summary>
    /// Takes the lease as lost at once and stops renewing it, without giving it back, and withdraws the
    /// delivery path: what the cluster sees of a process that died, which it must notice on its own.
    /// </summary>
    public void Abandon()
    {
        _abandoned = true;
        Volatile.Write(ref _lost, true);
        _stopping.Cancel();
        DeleteDelivery();
    }

    public ValueTask DisposeAsync()
    {
        // The container disposes this once as itself and once as the hosted service.
        DeleteDelivery();
        _stopping.Dispose();
        return ValueTask.CompletedTask;
    }

    private void DeleteDelivery()
    {
        if (Interlocked.Exchange(ref _delivery, null) is { } delivery)
        {
            _client.DeleteObjectReference<IGatewayDelivery>(delivery);
        }
    }

    private async Task RenewForever()
    {
        // Renew three times per lease, so one lost renewal never lets it run out.
        using var timer = new PeriodicTimer(_options.Lease / 3);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                await Renew();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task Renew()
    {
        try
        {
            var registry = _client.GetGrain<IGatewayRegistryGrain>(0);
            foreach (var old in _fenced.ToArray())
            {
                // Before the new lease: the cluster may not have expired the old one itself (its renewals were late, not lost).
                await registry.Depart(old).WaitAsync(_options.Lease / 3);
                _fenced.Remove(old);
            }

            await registry.Renew(Id, Delivery, _options.Lease).WaitAsync(_options.Lease / 3);
            Interlocked.Exchange(ref _lastRenewalTicks, Environment.TickCount64);
            Volatile.Write(ref _lost, false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            Log.RegistrationFailed(_logger, ex);
            FenceIfLeaseLost();
        }
    }

    // Once the lease has run out the cluster has closed this gateway's peers (OnClose 1006, state
    // cleared); their sockets must not live on as ghosts that still receive topic messages, nor tell
    // their grains anything more.
    private void FenceIfLeaseLost()
    {
        var last = Interlocked.Read(ref _lastRenewalTicks);
        if (last != 0 && Environment.TickCount64 - last > _options.Lease.TotalMilliseconds)
        {
            if (!Volatile.Read(ref _lost))
            {
                _fenced.Add(Id);
                Volatile.Write(ref _id, new(Guid.NewGuid()));
            }

            Volatile.Write(ref _lost, true);
            if (_connections.Count > 0)
            {
                Log.LeaseLost(_logger, Id, _connections.CloseAll(CloseCodes.ServiceRestart, "gateway lost its lease; reconnect"));
            }
        }
    }
}
