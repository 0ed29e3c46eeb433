using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using OrleansWs.Internal;
using OrleansWs.Topics;
using StackExchange.Redis;

namespace OrleansWs.Hosting;

/// <summary>Puts a silo's topics on Redis Streams.</summary>
public static class RedisTopicsSiloBuilderExtensions
{
    /// <summary>
    /// Keeps topics in a durable log on Redis Streams at <paramref name="redis"/> (Redis 7 or later) instead of in the
    /// silo's memory: a publish Redis acknowledged reaches every subscriber connected throughout, across the loss of
    /// any silo or gateway, and each topic keeps a bounded history (<see cref="OrleansWsSiloOptions.TopicHistoryCount"/>,
    /// <see cref="OrleansWsSiloOptions.TopicHistoryAge"/>). Every silo of the cluster must use the same Redis; keys
    /// start with <c>ows:</c> and the cluster's ServiceId.
    /// </summary>
    public static ISiloBuilder AddOrleansWsRedisTopics(this ISiloBuilder builder, ConfigurationOptions redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        builder.Services.AddSingleton<ITopicLog>(sp => new RedisTopicLog(
            redis,
            $"ows:{sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId}:",
            sp.GetRequiredService<IOptions<OrleansWsSiloOptions>>().Value.LogLimits,
            sp.GetRequiredService<Serializer>(),
            sp.GetRequiredService<ILogger<RedisTopicLog>>()));
        return builder;
    }
}
