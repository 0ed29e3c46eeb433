using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using OrleansWs.Internal;

namespace OrleansWs.Gateway.Hosting;

/// <summary>Adds the OrleansWs gateway to an ASP.NET Core application.</summary>
public static class GatewayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the gateway services. The application must also provide an <c>IClusterClient</c>: a
    /// co-hosted silo does, and so does <c>UseOrleansClient(c =&gt; c.AddOrleansWs())</c>.
    /// </summary>
    public static IServiceCollection AddWebSocketGateway(this IServiceCollection services) =>
        services.AddWebSocketGateway(static (OptionsBuilder<WebSocketGatewayOptions> _) => { });

    /// <summary>Adds the gateway services, configuring options with <paramref name="configure"/>.</summary>
    public static IServiceCollection AddWebSocketGateway(this IServiceCollection services, Action<WebSocketGatewayOptions> configure) =>
        services.AddWebSocketGateway(ob => ob.Configure(configure));

    /// <summary>Adds the gateway services, binding options from <paramref name="configuration"/> (e.g. the section "OrleansWs:Gateway").</summary>
    public static IServiceCollection AddWebSocketGateway(this IServiceCollection services, IConfiguration configuration) =>
        services.AddWebSocketGateway(ob => ob.Bind(configuration));

    /// <summary>Adds the gateway services, configuring options through an options builder.</summary>
    public static IServiceCollection AddWebSocketGateway(this IServiceCollection services, Action<OptionsBuilder<WebSocketGatewayOptions>> configureOptions)
    {
        var options = services.AddOptions<WebSocketGatewayOptions>().ValidateOnStart();
        configureOptions(options);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebSocketGatewayOptions>, WebSocketGatewayOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebSocketGatewayOptions>, WebSocketGatewayTimeoutsValidator>());
        // The topic seam: one implementation serves both roles.
        services.TryAddSingleton<StreamTopicBus>();
        services.TryAddSingleton<ITopicPublisher>(sp => sp.GetRequiredService<StreamTopicBus>());
        services.TryAddSingleton<ITopicSubscriber>(sp => sp.GetRequiredService<StreamTopicBus>());
        services.TryAddSingleton<ITopicBarrier>(sp => sp.GetRequiredService<StreamTopicBus>());
        services.TryAddSingleton<ITopicHistory>(sp => sp.GetRequiredService<StreamTopicBus>());
        services.TryAddSingleton<WebSocketPeers>();
        services.TryAddSingleton<IWebSocketPeers>(sp => sp.GetRequiredService<WebSocketPeers>());
        services.TryAddSingleton<ConnectionRegistry>();
        services.TryAddSingleton<GatewayLease>();
        services.AddHostedService(sp => sp.GetRequiredService<GatewayLease>());
        services.TryAddSingleton<GatewayRuntime>();
        services.AddTransient<IStartupFilter, WebSocketsStartupFilter>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, WebSocketRoutePolicy>());
        return services;
    }

    /// <summary>
    /// Bounds the host's shutdown: <paramref name="timeout"/> for an orderly stop, then the process ends
    /// even if something (e.g. Orleans retrying an unreachable membership store) still holds it.
    /// </summary>
    public static IServiceCollection AddBoundedShutdown(this IServiceCollection services, TimeSpan timeout)
    {
        services.Configure<HostOptions>(o => o.ShutdownTimeout = timeout);
        services.AddHostedService<ShutdownWatchdog>();
        return services;
    }

    /// <summary>
    /// Defaults for a host that holds many long-lived WebSockets, below every other configuration
    /// source so that any of them can override it: ASP.NET Core's per-request diagnostics logging
    /// is off ("Microsoft.AspNetCore.Hosting.Diagnostics": None). A WebSocket is one request for its
    /// whole life, and that logging kept an Activity and a log scope per socket (~0.7 KB each) for a
    /// request-start line nobody reads. Tracing still creates the Activity when a listener exists.
    /// Log scopes are not captured ("Logging:CaptureScopes": false): Kestrel's connection scope was
    /// held for each socket's lifetime (~0.24 KB), and no logger here writes scopes unless told to.
    /// </summary>
    public static IConfigurationBuilder AddWebSocketHostDefaults(this IConfigurationBuilder configuration)
    {
        configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData =
            [
                new("Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", "None"),
                new("Logging:CaptureScopes", "false"),
            ],
        });
        return configuration;
    }

    /// <summary>Gives an Orleans client what a gateway needs: the topic stream provider, with the default 4 topic partitions.</summary>
    public static IClientBuilder AddOrleansWs(this IClientBuilder builder) => builder.AddOrleansWs(TopicPartitions.DefaultCount);

    /// <summary>
    /// Gives an Orleans client what a gateway needs: the topic stream provider, over <paramref name="topicPartitions"/>
    /// partitions (the silos' <c>TopicPartitions</c>: every silo and gateway must use the same count).
    /// </summary>
    public static IClientBuilder AddOrleansWs(this IClientBuilder builder, int topicPartitions)
    {
        builder.Services.TryAddSingleton(new TopicPartitions(topicPartitions));
        return builder.AddPersistentStreams(OrleansWsNames.StreamProvider, TopicQueueAdapterFactory.Create, _ => { });
    }

    // WebSocket requests are only recognised behind the WebSockets middleware; putting it first
    // saves every application from having to remember it.
    private sealed class WebSocketsStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UseWebSockets();
            next(app);
        };
    }
}
