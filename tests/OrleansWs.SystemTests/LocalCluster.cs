using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using OrleansWs.Testing;

namespace OrleansWs.SystemTests;

/// <summary>
/// Runs scripts/cluster.sh on free ports in a private folder, and stops every process it started
/// (by PID, through the script) when the tests end, failed or not. Redis holds membership and state;
/// <see cref="PostgresCluster"/> runs the same topology on PostgreSQL.
/// </summary>
public class LocalCluster : IAsyncLifetime
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly string _root = FindRoot();
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "orleansws-cluster-" + Guid.NewGuid().ToString("N")[..8]);
    private int _base;

    /// <summary>The <c>OWS_STORE</c> of scripts/cluster.sh: where membership and peer state live.</summary>
    public virtual string Store => "redis";

    /// <summary>The port of the store's server (Redis or PostgreSQL).</summary>
    protected int StorePort => _base;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    public Uri LoadBalancer => new($"ws://127.0.0.1:{_base + 80}");

    public Uri LoadBalancerHttp => new($"http://127.0.0.1:{_base + 80}");

    public Uri Gateway(int i) => new($"ws://127.0.0.1:{_base + 60 + i}");

    public Uri GatewayHttp(int i) => new($"http://127.0.0.1:{_base + 60 + i}");

    public async Task InitializeAsync()
    {
        _base = FreePortBase();
        await Script(TimeSpan.FromMinutes(5), "up");
    }

    public async Task DisposeAsync()
    {
        await Script(TimeSpan.FromMinutes(1), "down");
        Http.Dispose();
        if (Environment.GetEnvironmentVariable("OWS_KEEP_RUN_DIR") != "1")
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }

    /// <summary>Runs <c>scripts/cluster.sh</c> with <paramref name="args"/> against this cluster.</summary>
    public async Task<string> Script(TimeSpan limit, params string[] args)
    {
        var environment = new Dictionary<string, string> { ["OWS_PORT_BASE"] = _base.ToString(), ["OWS_RUN_DIR"] = _runDir, ["OWS_STORE"] = Store };
        var run = await ProcessRun.Run(Path.Combine(_root, "scripts", "cluster.sh"), args, limit, environment: environment);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"cluster.sh {string.Join(' ', args)} failed ({run.ExitCode}):\n{run.Output}\n{run.Errors}");
        }

        return run.Output;
    }

    public Task<TestClient> Connect(Uri server, string pathAndQuery) => TestClient.ConnectAsync(new Uri(server, pathAndQuery), Timeout);

    public async Task<IReadOnlyList<string>> Peers(string @namespace) =>
        (await Http.GetFromJsonAsync<string[]>(new Uri(GatewayHttp(1), $"/api/peers?namespace={Uri.EscapeDataString(@namespace)}")))!;

    /// <summary>The id of the one peer that appears in the listing after <paramref name="connect"/>.</summary>
    public async Task<(TestClient Client, string PeerId)> ConnectAndIdentify(Func<Task<TestClient>> connect)
    {
        var before = await Peers("/ws/chat");
        var client = await connect();
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var added = (await Peers("/ws/chat")).Except(before).ToList();
            if (added.Count == 1)
            {
                return (client, added[0]);
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The new peer did not show in the listing; new ids: {string.Join(", ", added)}.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>How many records of state <paramref name="stateName"/> the store holds for grains whose key contains <paramref name="key"/>.</summary>
    public virtual async Task<int> StoredRecords(string stateName, string key)
    {
        // Orleans' Redis storage keys a record "{ServiceId}/state/{grain id}/{state name}".
        var keys = (await ProcessRun.Run("redis-cli", ["-p", StorePort.ToString(), "--scan", "--pattern", $"*{key}*/{stateName}"], Timeout)).Output;
        return keys.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    public async Task<HttpStatusCode> TopicsStatus(int gateway, string peerId) =>
        (await Http.GetAsync(new Uri(GatewayHttp(gateway), $"/api/peer/topics?id={Uri.EscapeDataString(peerId)}"))).StatusCode;

    // A base whose ports are free now and stay below the kernel's ephemeral range: a port inside it can be
    // handed to any outgoing connection between this check and the moment a silo binds it (seen in CI).
    internal static int FreePortBase()
    {
        var ephemeralLow = EphemeralPortsStart();
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var candidate = Random.Shared.Next(100, Math.Max(101, (ephemeralLow - 100) / 100)) * 100;
            // The store, the topics' Redis beside PostgreSQL, up to three silos (each with a silo, a gateway and an HTTP port), three gateways and nginx.
            if (new[] { 0, 1, 11, 12, 13, 31, 32, 33, 51, 52, 53, 61, 62, 63, 80 }.All(offset => IsFree(candidate + offset)))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("No free port range found.");
    }

    private static int EphemeralPortsStart()
    {
        try
        {
            return int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return 32768;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The repository this test runs from.</summary>
    internal static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OrleansWs.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("OrleansWs.sln not found above the test folder.");
    }
}

[CollectionDefinition(nameof(LocalCluster))]
public sealed class LocalClusterCollection : ICollectionFixture<LocalCluster>;

[CollectionDefinition(nameof(PostgresCluster))]
public sealed class PostgresClusterCollection : ICollectionFixture<PostgresCluster>;
