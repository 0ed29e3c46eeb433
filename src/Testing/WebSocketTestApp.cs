using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;
using OrleansWs.Gateway;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Hosting;
using OrleansWs.Internal;

namespace OrleansWs.Testing;

/// <summary>
/// A whole OrleansWs application inside a test: an Orleans <see cref="InProcessTestCluster"/> running
/// the handler grains, plus gateways on real Kestrel servers at 127.0.0.1 with free ports, all
/// clients of that cluster. Disposing it stops everything, even after a failed test.
/// </summary>
public sealed partial class WebSocketTestApp : IAsyncDisposable
{
    private readonly WebSocketTestAppOptions _options;
    private readonly List<TestGateway> _gateways = [];
    private readonly List<IAsyncDisposable> _clients = [];
    private readonly HttpClient _http = new();

    private WebSocketTestApp(WebSocketTestAppOptions options, InProcessTestCluster cluster, TestLogSink logs)
    {
        _options = options;
        Cluster = cluster;
        Logs = logs;
    }

    /// <summary>The Orleans cluster.</summary>
    public InProcessTestCluster Cluster { get; }

    /// <summary>Reaches peers as any code in the cluster would: send, close, publish, list.</summary>
    public IWebSocketPeers Peers { get; private set; } = null!;

    /// <summary>The running gateways.</summary>
    public IReadOnlyList<TestGateway> Gateways => _gateways;

    /// <summary>Every log line of the silos and gateways.</summary>
    public TestLogSink Logs { get; }

    /// <summary>The default timeout of every wait.</summary>
    public TimeSpan Timeout => _options.Timeout;

    /// <summary>Starts an app: <see cref="WebSocketTestAppOptions.Silos"/> silos and <see cref="WebSocketTestAppOptions.Gateways"/> gateways.</summary>
    public static async Task<WebSocketTestApp> StartAsync(Action<WebSocketTestAppOptions> configure)
    {
        var options = new WebSocketTestAppOptions();
        configure(options);
        var logs = new TestLogSink();
        var builder = new InProcessTestClusterBuilder((short)options.Silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureHost(host => host.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var store = new SharedGrainStorage.Store();
        // One topic log for all the kit's silos, as a scaled cluster's Redis: it outlives a silo killed in a test.
        var siloOptions = new OrleansWsSiloOptions();
        options.ConfigureSiloOptions?.Invoke(siloOptions);
        var topicLog = new MemoryTopicLog(siloOptions.LogLimits, TimeProvider.System, sharedBySilos: true);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton<ITopicLog>(topicLog);
            foreach (var name in options.SharedStorage)
            {
                silo.Services.AddGrainStorage(name, (sp, _) => new SharedGrainStorage(store, sp.GetRequiredService<Serializer>()));
            }

            // Notice a killed silo within about a second, as a tuned production cluster would.
            silo.Configure<ClusterMembershipOptions>(m =>
            {
                m.ProbeTimeout = TimeSpan.FromMilliseconds(500);
                m.NumMissedProbesLimit = 2;
                m.NumVotesForDeathDeclaration = 1;
                m.TableRefreshTimeout = TimeSpan.FromSeconds(1);
            });
            silo.AddOrleansWs(o => options.ConfigureSiloOptions?.Invoke(o));
            // Resume windows end on reminders.
            silo.UseInMemoryReminderService();
            options.ConfigureSilo?.Invoke(silo);
        });
        // The kit's gateways share one client: its response timeout is the grain-call timeout ConfigureGatewayOptions gives.
        var gatewayOptions = new WebSocketGatewayOptions();
        options.ConfigureGatewayOptions?.Invoke(gatewayOptions);
        builder.ConfigureClient(client =>
        {
            client.Configure<ClientMessagingOptions>(m => m.ResponseTimeout = gatewayOptions.GrainCallTimeout);
            client.AddOrleansWs(siloOptions.TopicPartitions);
            client.Configure<GatewayOptions>(g => g.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
        });
        var cluster = builder.Build();
        var app = new WebSocketTestApp(options, cluster, logs);
        try
        {
            await cluster.DeployAsync();
            var services = cluster.Client.ServiceProvider;
            app.Peers = new WebSocketPeers(cluster.Client, new StreamTopicBus(cluster.Client, services.GetRequiredService<ILogger<StreamTopicBus>>(), services.GetRequiredService<TopicPartitions>()), services.GetRequiredService<ILogger<WebSocketPeers>>());
            for (var i = 0; i < options.Gateways; i++)
            {
                await app.StartGatewayAsync();
            }
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    /// <summary>
    /// Starts one more gateway and returns it. <paramref name="configure"/> changes this gateway's options
    /// after <see cref="WebSocketTestAppOptions.ConfigureGatewayOptions"/> (e.g. a short <c>Lease</c> for a gateway a test kills);
    /// <paramref name="configureBuilder"/> changes this gateway's host after <see cref="WebSocketTestAppOptions.ConfigureGatewayBuilder"/>
    /// (e.g. a service that slows it down).
    /// </summary>
    public async Task<TestGateway> StartGatewayAsync(Action<WebSocketGatewayOptions>? configure = null, Action<WebApplicationBuilder>? configureBuilder = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddProvider(Logs).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddSingleton(Cluster.Client);
        builder.Services.AddWebSocketGateway(o =>
        {
            o.PeerIdHeader = TestClient.PeerIdHeader;
            _options.ConfigureGatewayOptions?.Invoke(o);
            configure?.Invoke(o);
        });
        _options.ConfigureGatewayBuilder?.Invoke(builder);
        configureBuilder?.Invoke(builder);
        var app = builder.Build();
        _options.ConfigureGatewayApp?.Invoke(app);
        _options.MapEndpoints?.Invoke(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var gateway = new TestGateway(_gateways.Count, app, new Uri(address.TrimEnd('/') + "/"));
        _gateways.Add(gateway);
        return gateway;
    }

    /// <summary>The topics of a peer, or <see langword="null"/> when it is not open.</summary>
    public Task<IReadOnlyList<string>?> GetTopics(string peerId) => Peers.GetTopics(peerId);

    /// <summary>
    /// The open peers of a namespace on every gateway, oldest first. A peer is listed once its <see cref="Connect"/>
    /// returned (the gateway lists it before the 101 leaves).
    /// </summary>
    public Task<PeerListing> GetOpenPeers(string @namespace) => Peers.GetPeers(@namespace);

    /// <summary>A name no other test uses (rooms, topics, nicknames), so tests sharing an app never meet.</summary>
    public static string UniqueName(string prefix = "t") => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>Opens a WebSocket to <paramref name="pathAndQuery"/> on the given gateway.</summary>
    public async Task<TestClient> Connect(string pathAndQuery, int gateway = 0, Action<ClientWebSocketOptions>? configure = null)
    {
        var client = await TestClient.ConnectAsync(new Uri(_gateways[gateway].WebSocketAddress, pathAndQuery), Timeout, configure);
        client.ServerErrors = Logs.DescribeErrorsAbout;
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    /// <summary>
    /// Opens a <see cref="Client.ResumableWebSocket"/> (OrleansWs.Client) to <paramref name="pathAndQuery"/> on the given
    /// gateway: a client that resumes its peer after a drop. Its reconnects go to the running gateways in turn, starting
    /// with the next one, as a load balancer would send them; <paramref name="configure"/> changes its options.
    /// </summary>
    public async Task<Client.ResumableWebSocket> ConnectResumable(string pathAndQuery, int gateway = 0, Action<Client.ResumableWebSocketOptions>? configure = null)
    {
        var client = await Client.ResumableWebSocket.ConnectAsync(new Uri(_gateways[gateway].WebSocketAddress, pathAndQuery), ResumableOptions(pathAndQuery, gateway, configure));
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    /// <summary>
    /// Connects a <see cref="TestClient"/> with resume to <paramref name="pathAndQuery"/> on gateway
    /// <paramref name="gateway"/>: its reconnects go to the gateways still running (as <see cref="ConnectResumable"/>'s),
    /// <see cref="TestClient.Abort"/> drops its connection, and <see cref="TestClient.WaitForResume"/> waits for the resume.
    /// </summary>
    public async Task<TestClient> ConnectResumableClient(string pathAndQuery, int gateway = 0, Action<Client.ResumableWebSocketOptions>? configure = null)
    {
        var client = await TestClient.ConnectResumableAsync(new Uri(_gateways[gateway].WebSocketAddress, pathAndQuery), Timeout, ResumableOptions(pathAndQuery, gateway, configure));
        client.ServerErrors = Logs.DescribeErrorsAbout;
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    private Client.ResumableWebSocketOptions ResumableOptions(string pathAndQuery, int gateway, Action<Client.ResumableWebSocketOptions>? configure)
    {
        var options = new Client.ResumableWebSocketOptions { ConnectTimeout = Timeout, InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromSeconds(1) };
        options.ReconnectUri = attempt =>
        {
            var running = _gateways.Where(g => !g.Stopped).ToList();
            var next = running.Count == 0 ? _gateways[gateway] : running[(gateway + attempt) % running.Count];
            return new Uri(next.WebSocketAddress, pathAndQuery);
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Opens a raw TCP WebSocket (for malformed frames and clients that never read).</summary>
    public async Task<RawWebSocketClient> ConnectRaw(string pathAndQuery, int gateway = 0, int receiveBufferSize = 0, bool neverRead = false)
    {
        var client = await RawWebSocketClient.ConnectAsync(new Uri(_gateways[gateway].WebSocketAddress, pathAndQuery), Timeout, receiveBufferSize, neverRead);
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    /// <summary>
    /// Sends a WebSocket upgrade request that is expected to be refused and returns the HTTP response
    /// (status, headers, body). Pass <paramref name="webSocket"/> = <see langword="false"/> for a plain GET.
    /// </summary>
    /// <exception cref="InvalidOperationException">The upgrade was accepted (101): use <see cref="Connect"/> for a socket.</exception>
    public async Task<HttpResponseMessage> Probe(string pathAndQuery, int gateway = 0, bool webSocket = true, Action<HttpRequestHeaders>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_gateways[gateway].HttpAddress, pathAndQuery));
        if (webSocket)
        {
            request.Headers.Connection.Add("Upgrade");
            request.Headers.Upgrade.Add(new ProductHeaderValue("websocket"));
            request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));
            request.Headers.Add("Sec-WebSocket-Version", "13");
        }

        headers?.Invoke(request.Headers);
        using var cts = new CancellationTokenSource(Timeout);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        if (response.StatusCode == System.Net.HttpStatusCode.SwitchingProtocols)
        {
            // The body of a 101 is the socket: it never ends. Say what happened instead of timing out on it.
            response.Dispose();
            throw new InvalidOperationException(
                $"The upgrade to {pathAndQuery} was accepted (101 Switching Protocols): Probe is for refused upgrades; use Connect for a socket.");
        }

        await response.Content.LoadIntoBufferAsync(cts.Token);
        return response;
    }

    /// <summary>The persisted record of a peer (connection facts and handler state), or <see langword="null"/> when storage holds none.</summary>
    public async Task<PeerRecord<TState>?> ReadPeerRecord<TState>(string peerId, string storageName = OrleansWsStorage.PeerState)
        where TState : class, new()
    {
        var storage = Cluster.GetSiloServiceProvider().GetRequiredKeyedService<IGrainStorage>(storageName);
        var state = new GrainState<PeerRecord<TState>>();
        await storage.ReadStateAsync(OrleansWsStorage.PeerRecordStateName, PeerIds.ToGrainId(peerId), state);
        return state.RecordExists ? state.State : null;
    }

    /// <summary>The persisted handler state of a peer, or <see langword="null"/> when storage holds none.</summary>
    public async Task<TState?> ReadState<TState>(string peerId, string storageName = OrleansWsStorage.PeerState)
        where TState : class, new() => (await ReadPeerRecord<TState>(peerId, storageName))?.State;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        IAsyncDisposable[] clients;
        lock (_clients)
        {
            clients = [.. _clients];
        }

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        foreach (var gateway in _gateways)
        {
            await StopGatewayAsync(gateway.Index);
        }

        _http.Dispose();
        await Cluster.DisposeAsync();
    }
}
