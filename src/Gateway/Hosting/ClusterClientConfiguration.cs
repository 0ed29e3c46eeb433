using System.Net;
using Orleans.Configuration;
using StackExchange.Redis;

namespace OrleansWs.Gateway.Hosting;

/// <summary>
/// Connects a standalone gateway to its cluster from configuration, with the names docker-compose.yml
/// and scripts/cluster.sh use: <c>OrleansWs:Cluster:Mode</c> = <c>static</c> (default; silo gateways in
/// <c>OrleansWs:Cluster:Gateways</c>, e.g. "127.0.0.1:30000,127.0.0.1:30001"), <c>redis</c> (<c>OrleansWs:Cluster:Redis</c>)
/// or <c>postgres</c> (<c>OrleansWs:Cluster:Postgres</c>, an Npgsql connection string; the silos apply the schema).
/// </summary>
public static class ClusterClientConfiguration
{
    /// <summary>Orleans' ADO.NET invariant name for PostgreSQL (Npgsql), used by gateways and silos.</summary>
    public const string PostgresInvariant = "Npgsql";

    /// <summary>
    /// <c>OrleansWs:Cluster:Postgres</c>, the Npgsql connection string of the <c>postgres</c> mode; a clear error when it is missing.
    /// </summary>
    public static string PostgresConnectionString(IConfiguration config) =>
        config["OrleansWs:Cluster:Postgres"] is { Length: > 0 } connectionString
            ? connectionString
            : throw new InvalidOperationException("OrleansWs:Cluster:Mode is 'postgres' but OrleansWs:Cluster:Postgres (an Npgsql connection string) is not set.");

    /// <summary>Configures clustering, cluster identity and fast failure handling on <paramref name="client"/>.</summary>
    public static IClientBuilder UseConfiguredClustering(this IClientBuilder client, IConfiguration config)
    {
        client.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = config["OrleansWs:Cluster:ClusterId"] ?? "orleansws";
            o.ServiceId = config["OrleansWs:Cluster:ServiceId"] ?? "orleansws";
        });
        switch (config["OrleansWs:Cluster:Mode"] ?? "static")
        {
            case "static":
                client.UseStaticClustering((config["OrleansWs:Cluster:Gateways"] ?? "127.0.0.1:30000")
                    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(IPEndPoint.Parse)
                    .ToArray());
                break;
            case "redis":
                var redis = ConfigurationOptions.Parse(config["OrleansWs:Cluster:Redis"] ?? "127.0.0.1:6379");
                // Fail fast when Redis is gone rather than queue for StackExchange.Redis' 5 s defaults.
                (redis.ConnectTimeout, redis.AsyncTimeout, redis.SyncTimeout, redis.AbortOnConnectFail) = (2000, 2000, 2000, false);
                client.UseRedisClustering(o => o.ConfigurationOptions = redis);
                break;
            case "postgres":
                var postgres = PostgresConnectionString(config);
                client.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (PostgresInvariant, postgres));
                break;
            case var other:
                throw new InvalidOperationException($"OrleansWs:Cluster:Mode is '{other}'; use 'static', 'redis' or 'postgres'.");
        }

        // Notice a dead silo quickly, and never wait Orleans' default 30 s on a call to one.
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(2));
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5));
        return client;
    }
}
