using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Runtime.Providers;
using Orleans.Serialization;
using Orleans.Storage;
using OrleansWs.Internal;

namespace OrleansWs.Hosting;

/// <summary>Adds OrleansWs to a silo.</summary>
public static class OrleansWsSiloBuilderExtensions
{
    /// <summary>
    /// Adds what peer grains need: <see cref="IWebSocketPeers"/> and the topic stream provider
    /// (Orleans persistent streams named "OrleansWs" over in-memory queues that readers long-poll; see <see cref="TopicQueueAdapterFactory"/>).
    /// The host still registers grain storage named "OrleansWs" (peer state) and "PubSubStore"
    /// (the topic streams' subscriptions); both are serialized with the Orleans serializer (a keyed
    /// <see cref="IGrainStorageSerializer"/> of that name, which providers that take it use).
    /// </summary>
    public static ISiloBuilder AddOrleansWs(this ISiloBuilder builder) =>
        builder.AddOrleansWs(static (OptionsBuilder<OrleansWsSiloOptions> _) => { });

    /// <summary>Adds OrleansWs to the silo, configuring its options with <paramref name="configure"/>.</summary>
    public static ISiloBuilder AddOrleansWs(this ISiloBuilder builder, Action<OrleansWsSiloOptions> configure) =>
        builder.AddOrleansWs(ob => ob.Configure(configure));

    private const int TopicDeliveryBatch = 256;

    /// <summary>Adds OrleansWs to the silo, configuring its options through an options builder.</summary>
    public static ISiloBuilder AddOrleansWs(this ISiloBuilder builder, Action<OptionsBuilder<OrleansWsSiloOptions>> configureOptions)
    {
        configureOptions(builder.Services.AddOptions<OrleansWsSiloOptions>());
        builder.Services.AddTransient<IConfigurationValidator, OrleansWsSiloOptionsValidator>();
        builder.Services.AddKeyedSingleton<IQueueReaderBackoffProvider, TopicQueueReaderBackoff>(OrleansWsNames.StreamProvider);
        builder.Services.AddOptions<SiloMessagingOptions>().Configure<IOptions<OrleansWsSiloOptions>>(
            (messaging, ws) => messaging.ClientDropTimeout = ws.Value.GatewayDropTimeout);
        // Orleans' default storage serializer is Newtonsoft JSON with type names: a connect spent more
        // CPU writing the peer record than on anything else. Peer records are [GenerateSerializer] types.
        foreach (var storage in (string[])[OrleansWsStorage.PeerState, OrleansWsStorage.PubSub])
        {
            builder.Services.TryAddKeyedSingleton<IGrainStorageSerializer>(storage, (sp, _) => new OrleansGrainStorageSerializer(sp.GetRequiredService<Serializer>()));
        }

        // The topic seam: one implementation serves both roles.
        builder.Services.TryAddSingleton<StreamTopicBus>();
        builder.Services.TryAddSingleton<ITopicPublisher>(sp => sp.GetRequiredService<StreamTopicBus>());
        builder.Services.TryAddSingleton<ITopicSubscriber>(sp => sp.GetRequiredService<StreamTopicBus>());
        builder.Services.TryAddSingleton<ITopicBarrier>(sp => sp.GetRequiredService<StreamTopicBus>());
        builder.Services.TryAddSingleton<WebSocketPeers>();
        builder.Services.TryAddSingleton<IWebSocketPeers>(sp => sp.GetRequiredService<WebSocketPeers>());

        builder.AddPersistentStreams(OrleansWsNames.StreamProvider, TopicQueueAdapterFactory.Create, streams =>
            streams.ConfigurePullingAgent(agent => agent.Configure<IOptions<OrleansWsSiloOptions>>((o, ws) =>
            {
                o.GetQueueMsgsTimerPeriod = ws.Value.TopicPollingPeriod;
                o.StreamInactivityPeriod = ws.Value.TopicInactivityPeriod;
                // Everything a read found for a topic goes to each gateway in one call instead of
                // one call per message: a busy room costs a gateway O(reads), not O(messages).
                o.BatchContainerBatchSize = TopicDeliveryBatch;
            })));
        return builder;
    }
}
