using Microsoft.Extensions.Configuration;
using StackExchange.Redis;

namespace OrleansWs.Hosting;

/// <summary>
/// The cluster settings both hosts read (the silo and the standalone gateway), with the names
/// docker-compose.yml and scripts/cluster.sh use: <c>OrleansWs:Cluster:*</c> (as environment variables,
/// <c>OrleansWs__Cluster__Mode</c> and so on). One source file, compiled into each host, so that the
/// two can never disagree on a default.
/// </summary>
internal static class ClusterSettings
{
    /// <summary>Orleans' ADO.NET invariant name for PostgreSQL (Npgsql).</summary>
    public const string PostgresInvariant = "Npgsql";

    /// <summary><c>OrleansWs:Cluster:Mode</c>, or <paramref name="defaultMode"/> when it is not set.</summary>
    public static string Mode(IConfiguration config, string defaultMode) => config["OrleansWs:Cluster:Mode"] ?? defaultMode;

    /// <summary><c>OrleansWs:Cluster:ClusterId</c>; default <c>orleansws</c>.</summary>
    public static string ClusterId(IConfiguration config) => config["OrleansWs:Cluster:ClusterId"] ?? "orleansws";

    /// <summary><c>OrleansWs:Cluster:ServiceId</c>; default <c>orleansws</c>.</summary>
    public static string ServiceId(IConfiguration config) => config["OrleansWs:Cluster:ServiceId"] ?? "orleansws";

    /// <summary>
    /// <c>OrleansWs:Cluster:Redis</c> (default <c>127.0.0.1:6379</c>), set to fail fast when Redis is gone
    /// (2 s) rather than queue for StackExchange.Redis' 5 s defaults.
    /// </summary>
    public static ConfigurationOptions Redis(IConfiguration config)
    {
        var redis = ConfigurationOptions.Parse(config["OrleansWs:Cluster:Redis"] ?? "127.0.0.1:6379");
        (redis.ConnectTimeout, redis.AsyncTimeout, redis.SyncTimeout, redis.AbortOnConnectFail) = (2000, 2000, 2000, false);
        return redis;
    }

    /// <summary>
    /// <c>OrleansWs:Topics:Partitions</c>: how many partitions topics are spread over (default 4). Both hosts read
    /// the one setting, since silos and gateways must agree.
    /// </summary>
    public static int TopicPartitions(IConfiguration config) => config.GetValue("OrleansWs:Topics:Partitions", 4);

    /// <summary>
    /// The Redis that holds the topic log: <c>OrleansWs:Topics:Redis</c>, else in <c>redis</c> mode the cluster's
    /// Redis; <see langword="null"/> when topics stay in the process (the <c>localhost</c> mode). A <c>postgres</c> cluster
    /// must name one: its silos share no memory, and PostgreSQL holds no log of ours.
    /// </summary>
    public static ConfigurationOptions? TopicsRedis(IConfiguration config, string mode)
    {
        if (config["OrleansWs:Topics:Redis"] is { Length: > 0 } topics)
        {
            var redis = Redis(config);
            var own = ConfigurationOptions.Parse(topics);
            (own.ConnectTimeout, own.AsyncTimeout, own.SyncTimeout, own.AbortOnConnectFail) = (redis.ConnectTimeout, redis.AsyncTimeout, redis.SyncTimeout, false);
            return own;
        }

        return mode switch
        {
            "redis" => Redis(config),
            "postgres" => throw new InvalidOperationException(
                "OrleansWs:Cluster:Mode is 'postgres' but OrleansWs:Topics:Redis (the Redis that holds the topic log) is not set."),
            _ => null,
        };
    }

    /// <summary><c>OrleansWs:Cluster:Postgres</c>, the Npgsql connection string of the <c>postgres</c> mode; a clear error when it is missing.</summary>
    public static string PostgresConnectionString(IConfiguration config) =>
        config["OrleansWs:Cluster:Postgres"] is { Length: > 0 } connectionString
            ? connectionString
            : throw new InvalidOperationException("OrleansWs:Cluster:Mode is 'postgres' but OrleansWs:Cluster:Postgres (an Npgsql connection string) is not set.");

    /// <summary>The error for a mode the host does not know.</summary>
    public static InvalidOperationException UnknownMode(string mode, string known) =>
        new($"OrleansWs:Cluster:Mode is '{mode}'; use {known}.");
}
