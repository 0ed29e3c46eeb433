using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Hosting;
using OrleansWs.Internal;
using OrleansWs.Testing;

namespace OrleansWs.Tests;

/// <summary>
/// The gateway as its own process would run it: an Orleans client over TCP that maps handlers by
/// grain type name, next to a silo that co-hosts gateway endpoints of its own.
/// </summary>
public sealed class StandaloneGatewayTests : IAsyncLifetime
{
    private readonly TimeSpan _timeout = TimeSpan.FromSeconds(10);
    private IHost _silo = null!;
    private WebApplication _gateway = null!;
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        var siloPort = FreePort();
        var gatewayPort = FreePort();
        var silo = Host.CreateApplicationBuilder();
        silo.Logging.ClearProviders();
        silo.UseOrleans(s =>
        {
            s.UseLocalhostClustering(siloPort, gatewayPort, serviceId: "standalone", clusterId: "standalone");
            s.AddMemoryGrainStorage(OrleansWsStorage.PeerState);
            s.AddMemoryGrainStorage(OrleansWsStorage.PubSub);
            s.AddOrleansWs();
        });
        _silo = silo.Build();
        await _silo.StartAsync();

        var gateway = WebApplication.CreateSlimBuilder();
        gateway.WebHost.UseUrls("http://127.0.0.1:0");
        gateway.Logging.ClearProviders();
        gateway.UseOrleansClient(client =>
        {
            client.UseStaticClustering(new IPEndPoint(IPAddress.Loopback, gatewayPort));
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = ("standalone", "standalone"));
            client.AddOrleansWs();
        });
        gateway.Services.AddWebSocketGateway();
        _gateway = gateway.Build();
        _gateway.MapWebSocketHandler("/ws/echo", "echo");
        _gateway.MapWebSocketHandler("/ws/chat", "chat");
        await _gateway.StartAsync();
        var address = _gateway.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _address = new UriBuilder(address) { Scheme = "ws" }.Uri;
    }

    public async Task DisposeAsync()
    {
        await _gateway.StopAsync();
        await _gateway.DisposeAsync();
        await _silo.StopAsync();
        _silo.Dispose();
    }

    [Fact]
    public async Task A_gateway_that_is_only_an_Orleans_client_serves_handlers_it_knows_by_name()
    {
        await using var echo = await TestClient.ConnectAsync(new Uri(_address, "/ws/echo"), _timeout);
        await echo.SendText("over tcp");
        Assert.Equal("over tcp", await echo.ReceiveText());

        var room = AppExtensions.NewTag();
        await using var a = await TestClient.ConnectAsync(new Uri(_address, $"/ws/chat?room={room}"), _timeout);
        await using var b = await TestClient.ConnectAsync(new Uri(_address, $"/ws/chat?room={room}"), _timeout);
        await a.SendText("hi b");
        Assert.Equal("hi b", await b.ReceiveText());

        var peers = _gateway.Services.GetRequiredService<IWebSocketPeers>();
        Assert.Equal(2, (await peers.GetPeers("/ws/chat")).Count);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
