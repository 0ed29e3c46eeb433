using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>
/// What one gateway holds: its open connections, its topic subscriptions and its delivery path
/// into the cluster, which it keeps registered (leased) while it runs.
/// </summary>
internal sealed class GatewayRuntime : IHostedService, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, WebSocketConnection> _connections = new(StringComparer.Ordinal);
    private readonly IClusterClient _client;
    private readonly WebSocketGatewayOptions _options;
    private readonly ILogger<GatewayRuntime> _logger;
    private readonly GatewayDelivery _deliveryTarget;
    private readonly CancellationTokenSource _stopping = new();
    private IGatewayDelivery? _delivery;
    private Task? _renewals;
    private long _lastRenewalTicks;

    public GatewayRuntime(IClusterClient client, IOptions<WebSocketGatewayOptions> options, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime)
    {
        _client = client;
        _options = options.Value;
        _logger = loggerFactory.CreateLogger<GatewayRuntime>();
        ConnectionLogger = loggerFactory.CreateLogger<WebSocketConnection>();
        // Orleans holds observers weakly: this field keeps the delivery path alive.
        _deliveryTarget = new GatewayDelivery(this);
        Topics = new TopicFanout(client, loggerFactory.CreateLogger<TopicFanout>());
        // ApplicationStopping fires before Kestrel stops, so sockets still get a close frame.
        lifetime.ApplicationStopping.Register(CloseAll);
    }

    /// <summary>This gateway's identity in the cluster.</summary>
    public Guid Id { get; } = Guid.NewGuid();

    public IClusterClient Client => _client;

    public WebSocketGatewayOptions Options => _options;

    /// <summary>Shared by every connection, so an idle socket does not hold a logger of its own.</summary>
    public ILogger ConnectionLogger { get; }

    public TopicFanout Topics { get; }

    public IGatewayDelivery Delivery => _delivery ?? throw new InvalidOperationException("The gateway has not started.");

    /// <summary>Holds its lease (renewed within the last lease period) and is not stopping: ready for traffic.</summary>
    public bool IsReady =>
        !Crashed && !_stopping.IsCancellationRequested
        && Environment.TickCount64 - Interlocked.Read(ref _lastRenewalTicks) < _options.Lease.TotalMilliseconds
        && Interlocked.Read(ref _lastRenewalTicks) != 0;

    /// <summary>Set by <see cref="SimulateCrash"/>: this gateway no longer says anything to the cluster.</summary>
    public bool Crashed { get; private set; }

    /// <summary>
    /// Fault injection for tests: behave as if the process died. Sockets drop without close frames,
    /// grains hear nothing more from this gateway (no OnClose calls), and the lease is neither renewed
    /// nor given back, so the cluster must notice on its own.
    /// </summary>
    internal void SimulateCrash()
    {
        Crashed = true;
        _stopping.Cancel();
        foreach (var connection in _connections.Values)
        {
            connection.Terminate();
        }

        if (Interlocked.Exchange(ref _delivery, null) is { } delivery)
        {
            _client.DeleteObjectReference<IGatewayDelivery>(delivery);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _delivery = _client.CreateObjectReference<IGatewayDelivery>(_deliveryTarget);
        await Renew();
        _renewals = RenewForever();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Crashed)
        {
            return;
        }

        await _stopping.CancelAsync();
        CloseAll();
        if (_renewals is not null)
        {
            await _renewals;
        }

        try
        {
            await _client.GetGrain<IGatewayRegistryGrain>(0).Remove(Id).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException or OperationCanceledException)
        {
            // The lease runs out on its own.
            Log.RegistrationFailed(_logger, ex);
        }
    }

    public void Register(WebSocketConnection connection) => _connections[connection.PeerId] = connection;

    public void Unregister(WebSocketConnection connection) => _connections.TryRemove(new(connection.PeerId, connection));

    public WebSocketConnection? Find(string peerId) => _connections.GetValueOrDefault(peerId);

    public IReadOnlyList<string> GetOpenPeers(string handlerType)
    {
        var peers = new List<string>();
        foreach (var connection in _connections.Values)
        {
            if (connection.IsOpen && connection.HandlerType == handlerType)
            {
                peers.Add(connection.PeerId);
            }
        }

        peers.Sort(StringComparer.Ordinal);
        return peers;
    }

    public ValueTask DisposeAsync()
    {
        // The container disposes this once as itself and once as the hosted service.
        if (Interlocked.Exchange(ref _delivery, null) is { } delivery)
        {
            _client.DeleteObjectReference<IGatewayDelivery>(delivery);
        }

        _stopping.Dispose();
        return ValueTask.CompletedTask;
    }

    private void CloseAll()
    {
        if (_connections.IsEmpty || Crashed)
        {
            return;
        }

        Log.ShuttingDown(_logger, Id, _connections.Count);
        foreach (var connection in _connections.Values)
        {
            connection.BeginClose(CloseCodes.GoingAway, "server shutting down");
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
            await _client.GetGrain<IGatewayRegistryGrain>(0).Renew(Id, Delivery, _options.Lease).WaitAsync(_options.Lease / 3);
            Interlocked.Exchange(ref _lastRenewalTicks, Environment.TickCount64);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            Log.RegistrationFailed(_logger, ex);
            FenceIfLeaseLost();
        }
    }

    // Once the lease has run out the cluster has closed this gateway's peers (OnClose 1006, state
    // cleared); their sockets must not live on as ghosts that still receive topic messages.
    private void FenceIfLeaseLost()
    {
        var last = Interlocked.Read(ref _lastRenewalTicks);
        if (last != 0 && Environment.TickCount64 - last > _options.Lease.TotalMilliseconds && !_connections.IsEmpty)
        {
            Log.LeaseLost(_logger, Id, _connections.Count);
            foreach (var connection in _connections.Values)
            {
                connection.BeginClose(CloseCodes.ServiceRestart, "gateway lost its lease; reconnect");
            }
        }
    }
}
