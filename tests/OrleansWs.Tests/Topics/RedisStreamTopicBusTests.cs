using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansWs.Hosting;
using OrleansWs.Internal;
using OrleansWs.Testing;

namespace OrleansWs.Tests.Topics;

/// <summary>The topic seam's specification against Orleans persistent streams over the Redis Streams log.</summary>
public sealed class RedisStreamTopicBusTests(RedisServer redis) : TopicSeamSpecification, IClassFixture<RedisServer>
{
    private WebSocketTestApp _app = null!;

    private protected override async Task<(ITopicPublisher Publisher, ITopicSubscriber Subscriber)> Create()
    {
        _app = await WebSocketTestApp.StartAsync(o =>
        {
            o.Gateways = 0;
            o.ConfigureSilo = silo => silo.AddOrleansWsRedisTopics(redis.Options);
        });
        var client = _app.Cluster.Client;
        var bus = new StreamTopicBus(client, client.ServiceProvider.GetRequiredService<ILogger<StreamTopicBus>>(), client.ServiceProvider.GetRequiredService<TopicPartitions>());
        return (bus, bus);
    }

    public override async Task DisposeAsync() => await _app.DisposeAsync();
}
