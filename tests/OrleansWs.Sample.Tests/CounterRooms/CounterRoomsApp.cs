using Microsoft.AspNetCore.Routing;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Hosting;

namespace CounterRooms;

/// <summary>What every host of the app shares: its host program and its tests call these.</summary>
public static class CounterRoomsApp
{
    /// <summary>The rooms' storage, kept wherever the host keeps peer state (memory, Redis, PostgreSQL, the kit's).</summary>
    public static void ConfigureSilo(ISiloBuilder silo) => silo.AddOrleansWsStorage(RoomGrain.Storage);

    public static void MapEndpoints(IEndpointRouteBuilder endpoints) => endpoints.MapWebSocketHandler<CounterRoomsHandler>("/rooms");
}
