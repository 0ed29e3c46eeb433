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
    /// (Orleans persistent streams named "OrleansWs" over partitions of the topic log, which readers long-poll; see
    /// <see cref="TopicQueueAdapterFactory"/>). The log is held in this process unless the host adds another.
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

    /// <summary>
    /// Stores the grain state named <paramref name="name"/> (a grain's <c>[PersistentState("room", "rooms")]</c>) in the
    /// store that holds peer state, whatever the host chose for it: memory when embedded, Redis or PostgreSQL when
    /// scaled, the test kit's shared storage (which survives a silo kill) in tests. One call in the code every host
    /// shares covers all three. State is written with the Orleans serializer, so state types are <c>[GenerateSerializer]</c>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty, one of <see cref="OrleansWsStorage"/>'s own
    /// names, or a storage the silo already has.</exception>
    public static ISiloBuilder AddOrleansWsStorage(this ISiloBuilder builder, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name is OrleansWsStorage.PeerState or OrleansWsStorage.PubSub)
        {
            throw new ArgumentException($"'{name}' is a storage the host registers for OrleansWs itself; name your grains' storage differently.", nameof(name));
        }

        // A provider registered under the name would be left half replaced: its lifecycle hook resolves the name too.
        if (builder.Services.Any(d => d.IsKeyedService && d.ServiceType == typeof(IGrainStorage) && Equals(d.ServiceKey, name)))
        {
            throw new ArgumentException($"The silo already has a grain storage named '{name}'; register it once, with AddOrleansWsStorage or with a provider of your own.", nameof(name));
        }

        builder.Services.AddKeyedSingleton(name, PeerStateStore);
        return builder;
    }

    private static IGrainStorage PeerStateStore(IServiceProvider services, object? _) =>
        services.GetKeyedService<IGrainStorage>(OrleansWsStorage.PeerState)
        ?? throw new InvalidOperationException($"No grain storage named '{OrleansWsStorage.PeerState}' is registered: the host registers peer state's store (e.g. silo.AddMemoryGrainStorage(OrleansWsStorage.PeerState)).");

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


        // The topic seam: one implementation serves both roles, over the topic log (in this process unless the host
        // registered another, e.g. AddOrleansWsRedisTopics).
        builder.Services.TryAddSingleton(sp => new TopicPartitions(sp.GetRequiredService<IOptions<OrleansWsSiloOptions>>().Value.TopicPartitions));
        builder.Services.TryAddSingleton<ITopicLog>(sp => new MemoryTopicLog(sp.GetRequiredService<IOptions<OrleansWsSiloOptions>>().Value.LogLimits, TimeProvider.System));
        builder.Services.TryAddSingleton<StreamTopicBus>();
        builder.Services.TryAddSingleton<ITopicHistory>(sp => sp.GetRequiredService<StreamTopicBus>());
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
