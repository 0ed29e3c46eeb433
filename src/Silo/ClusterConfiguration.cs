using System.Net;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Persistence;
using Orleans.Storage;
using OrleansWs.Hosting;
using OrleansWs.Silo.Postgres;

namespace OrleansWs.Silo;

/// <summary>
/// Chooses the silo's clustering and grain storage from configuration, with the names that
/// docker-compose.yml and scripts/cluster.sh also use (as environment variables, e.g. OrleansWs__Cluster__Mode).
/// </summary>
internal static class ClusterConfiguration
{
    /// <summary>
    /// Registers what must run before the silo starts: with <c>postgres</c>, our schema. Call before UseOrleans.
    /// </summary>
    public static void AddStorageSetup(IServiceCollection services, IConfiguration config)
    {
        if (Mode(config) == "postgres")
        {
            var connectionString = ClusterSettings.PostgresConnectionString(config);
            services.AddHostedService(sp => new PostgresSchema(connectionString, sp.GetRequiredService<ILogger<PostgresSchema>>()));
        }
    }

    /// <summary>
    /// <c>OrleansWs:Cluster:Mode</c> = <c>localhost</c> (default: one process, memory storage, nothing
    /// external), <c>redis</c> (membership and peer state in <c>OrleansWs:Cluster:Redis</c>) or
    /// <c>postgres</c> (the same in the PostgreSQL database of <c>OrleansWs:Cluster:Postgres</c>, an Npgsql
    /// connection string, through Orleans' ADO.NET providers). Topics ride the log of <see cref="ClusterSettings.TopicsRedis"/>:
    /// the process's memory in <c>localhost</c> mode, Redis Streams otherwise.
    /// </summary>
    public static void Configure(ISiloBuilder silo, IConfiguration config)
    {
        var siloPort = config.GetValue("OrleansWs:Cluster:SiloPort", 11111);
        var gatewayPort = config.GetValue("OrleansWs:Cluster:GatewayPort", 30000);
        var clusterId = ClusterSettings.ClusterId(config);
        var serviceId = ClusterSettings.ServiceId(config);
        switch (Mode(config))
        {
            case "localhost":
                silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: serviceId, clusterId: clusterId);
                silo.AddMemoryGrainStorage(OrleansWsStorage.PeerState);
                silo.AddMemoryGrainStorage(OrleansWsStorage.PubSub);
                // Resume windows end on reminders: in the one process here, in Redis when scaled (below).
                silo.UseInMemoryReminderService();
                break;
            case "redis":
                var redis = ClusterSettings.Redis(config);
                silo.UseRedisClustering(o => o.ConfigurationOptions = redis);
                foreach (var name in new[] { OrleansWsStorage.PeerState, OrleansWsStorage.PubSub })
                {
                    // Redis storage does not look up the serializer registered under its name (AddOrleansWs does that); pass it.
                    // A cleared record is deleted: Redis would otherwise keep an empty hash for every peer that ever closed.
                    silo.AddRedisGrainStorage(name, (OptionsBuilder<RedisStorageOptions> ob) => ob.Configure<IServiceProvider>((o, services) =>
                        (o.ConfigurationOptions, o.GrainStorageSerializer, o.DeleteStateOnClear) = (redis, services.GetRequiredKeyedService<IGrainStorageSerializer>(name), true)));
                }

                ConfigureScaled(silo, config, siloPort, gatewayPort, clusterId, serviceId);
                break;
            case "postgres":
                var postgres = ClusterSettings.PostgresConnectionString(config);
                silo.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (ClusterSettings.PostgresInvariant, postgres));
                foreach (var name in new[] { OrleansWsStorage.PeerState, OrleansWsStorage.PubSub })
                {
                    // Rows of closed peers are deleted, not kept as empty versions.
                    silo.AddAdoNetGrainStorage(name, o =>
                        (o.Invariant, o.ConnectionString, o.DeleteStateOnClear) = (ClusterSettings.PostgresInvariant, postgres, true));
                }

                ConfigureScaled(silo, config, siloPort, gatewayPort, clusterId, serviceId);
                break;
            case var other:
                throw ClusterSettings.UnknownMode(other, "'localhost', 'redis' or 'postgres'");
        }

        if (ClusterSettings.TopicsRedis(config, Mode(config)) is { } topics)
        {
            silo.AddOrleansWsRedisTopics(topics);
            // A detached peer's resume window outlives its silo: the reminder that ends it is kept beside the topic log.
            silo.UseRedisReminderService(o => o.ConfigurationOptions = topics);
        }
    }

    private static string Mode(IConfiguration config) => ClusterSettings.Mode(config, "localhost");

    private static void ConfigureScaled(ISiloBuilder silo, IConfiguration config, int siloPort, int gatewayPort, string clusterId, string serviceId)
    {
        silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, serviceId));
        ConfigureEndpoints(silo, config, siloPort, gatewayPort);
        TuneFailureDetection(silo);
    }

    private static void ConfigureEndpoints(ISiloBuilder silo, IConfiguration config, int siloPort, int gatewayPort)
    {
        // Local processes advertise loopback; containers advertise their own name (OrleansWs:Cluster:AdvertisedHost).
        if (config["OrleansWs:Cluster:AdvertisedHost"] is { Length: > 0 } host)
        {
            silo.ConfigureEndpoints(host, siloPort, gatewayPort, listenOnAnyHostAddress: true);
        }
        else
        {
            silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort);
        }
    }

    // A dead silo is declared dead after two missed one-second probes (Orleans' defaults take about
    // 15 s), so its grains come back elsewhere within a few seconds.
    private static void TuneFailureDetection(ISiloBuilder silo) =>
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.NumMissedProbesLimit = 2;
            o.NumVotesForDeathDeclaration = 1;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
        });
}
