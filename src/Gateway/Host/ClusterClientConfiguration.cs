using System.Net;
using Orleans.Configuration;
using OrleansWs.Hosting;

namespace OrleansWs.Gateway.Host;

/// <summary>
/// Connects the standalone gateway to its cluster from configuration (<see cref="ClusterSettings"/>):
/// <c>OrleansWs:Cluster:Mode</c> = <c>static</c> (default; silo gateways in <c>OrleansWs:Cluster:Gateways</c>,
/// e.g. "127.0.0.1:30000,127.0.0.1:30001"), <c>redis</c> or <c>postgres</c> (the silos apply the schema).
/// </summary>
internal static class ClusterClientConfiguration
{
    /// <summary>Configures clustering, cluster identity and fast failure handling on <paramref name="client"/>.</summary>
    public static IClientBuilder UseConfiguredClustering(this IClientBuilder client, IConfiguration config)
    {
        client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterSettings.ClusterId(config), ClusterSettings.ServiceId(config)));
        switch (ClusterSettings.Mode(config, "static"))
        {
            case "static":
                client.UseStaticClustering((config["OrleansWs:Cluster:Gateways"] ?? "127.0.0.1:30000")
                    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(IPEndPoint.Parse)
                    .ToArray());
                break;
            case "redis":
                var redis = ClusterSettings.Redis(config);
                client.UseRedisClustering(o => o.ConfigurationOptions = redis);
                break;
            case "postgres":
                var postgres = ClusterSettings.PostgresConnectionString(config);
                client.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (ClusterSettings.PostgresInvariant, postgres));
                break;
            case var other:
                throw ClusterSettings.UnknownMode(other, "'static', 'redis' or 'postgres'");
        }

        // Notice a dead silo quickly. A call in flight to a silo that died is answered by nothing: the gateway's
        // grain-call timeout ends it (a client is not told of the death as silos are).
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(2));
        var callTimeout = config.GetSection("OrleansWs:Gateway").Get<WebSocketGatewayOptions>()?.GrainCallTimeout ?? new WebSocketGatewayOptions().GrainCallTimeout;
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = callTimeout);
        return client;
    }
}
