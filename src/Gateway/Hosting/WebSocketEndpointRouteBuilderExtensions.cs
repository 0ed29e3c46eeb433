using OrleansWs.Internal;
using Orleans.Metadata;

namespace OrleansWs.Gateway.Hosting;

/// <summary>Maps WebSocket handlers onto routes, as SolidStart's <c>addRouter({ base, handler })</c>.</summary>
public static class WebSocketEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <paramref name="pattern"/> to the handler grain class <typeparamref name="THandler"/>. The
    /// result is an ordinary endpoint: <c>RequireAuthorization()</c>, CORS and rate limiting apply.
    /// </summary>
    /// <remarks>
    /// Other endpoints may share the path (a <c>MapGet</c> of a page, mapped before or after): a WebSocket upgrade goes to
    /// the handler unless a more specific route that takes any method (a SignalR hub) matches too, and any other
    /// request to an endpoint whose route is at least as specific. A plain request that none takes (a fallback does
    /// not count) gets 426 Upgrade Required.
    /// </remarks>
    public static IEndpointConventionBuilder MapWebSocketHandler<THandler>(this IEndpointRouteBuilder endpoints, string pattern)
        where THandler : IWebSocketHandler => endpoints.MapWebSocketHandler<THandler>(pattern, static _ => { });

    /// <summary>
    /// Maps <paramref name="pattern"/> to the handler grain class <typeparamref name="THandler"/> with the endpoint's own
    /// options (<paramref name="configure"/>), e.g. resume (<see cref="WebSocketEndpointOptions.Resume"/>).
    /// </summary>
    public static IEndpointConventionBuilder MapWebSocketHandler<THandler>(this IEndpointRouteBuilder endpoints, string pattern, Action<WebSocketEndpointOptions> configure)
        where THandler : IWebSocketHandler
    {
        var client = endpoints.ServiceProvider.GetRequiredService<IClusterClient>();
        var grainType = client.ServiceProvider.GetRequiredService<GrainTypeResolver>().GetGrainType(typeof(THandler));
        return endpoints.MapWebSocketHandler(pattern, grainType.ToString()!, configure);
    }

    /// <summary>
    /// Maps <paramref name="pattern"/> to the handler whose grain type is <paramref name="handlerType"/>
    /// (its <c>[GrainType]</c> name). A gateway needs no reference to the handler's assembly this way.
    /// </summary>
    public static IEndpointConventionBuilder MapWebSocketHandler(this IEndpointRouteBuilder endpoints, string pattern, string handlerType) =>
        endpoints.MapWebSocketHandler(pattern, handlerType, static _ => { });

    /// <summary>Maps <paramref name="pattern"/> to the handler grain type <paramref name="handlerType"/> with the endpoint's own options.</summary>
    public static IEndpointConventionBuilder MapWebSocketHandler(this IEndpointRouteBuilder endpoints, string pattern, string handlerType, Action<WebSocketEndpointOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new WebSocketEndpointOptions();
        configure(options);
        if (options.Resume is { } resume)
        {
            System.ComponentModel.DataAnnotations.Validator.ValidateObject(resume, new(resume), validateAllProperties: true);
            if (resume.Window <= TimeSpan.Zero)
            {
                throw new ArgumentException("The resume window must be positive.", nameof(configure));
            }
        }

        ArgumentException.ThrowIfNullOrEmpty(pattern);
        ArgumentException.ThrowIfNullOrEmpty(handlerType);
        if (handlerType.Contains('/'))
        {
            throw new ArgumentException("A handler grain type cannot contain '/'.", nameof(handlerType));
        }

        var settings = options.Resume is { } r ? new ResumeSettings(r.Window, r.MaxOutboxFrames, r.MaxOutboxBytes) : null;
        var endpoint = ActivatorUtilities.CreateInstance<WebSocketEndpoint>(endpoints.ServiceProvider, pattern, handlerType, new EndpointResume(settings));
        return endpoints.Map(pattern, endpoint.HandleAsync)
            .WithMetadata(WebSocketEndpointMetadata.Instance)
            .WithDisplayName($"WebSocket {pattern} → {handlerType}");
    }
}
