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
        where THandler : IWebSocketHandler
    {
        var client = endpoints.ServiceProvider.GetRequiredService<IClusterClient>();
        var grainType = client.ServiceProvider.GetRequiredService<GrainTypeResolver>().GetGrainType(typeof(THandler));
        return endpoints.MapWebSocketHandler(pattern, grainType.ToString()!);
    }

    /// <summary>
    /// Maps <paramref name="pattern"/> to the handler whose grain type is <paramref name="handlerType"/>
    /// (its <c>[GrainType]</c> name). A gateway needs no reference to the handler's assembly this way.
    /// </summary>
    public static IEndpointConventionBuilder MapWebSocketHandler(this IEndpointRouteBuilder endpoints, string pattern, string handlerType)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        ArgumentException.ThrowIfNullOrEmpty(handlerType);
        if (handlerType.Contains('/'))
        {
            throw new ArgumentException("A handler grain type cannot contain '/'.", nameof(handlerType));
        }

        var endpoint = ActivatorUtilities.CreateInstance<WebSocketEndpoint>(endpoints.ServiceProvider, pattern, handlerType);
        return endpoints.Map(pattern, endpoint.HandleAsync)
            .WithMetadata(WebSocketEndpointMetadata.Instance)
            .WithDisplayName($"WebSocket {pattern} → {handlerType}");
    }
}
