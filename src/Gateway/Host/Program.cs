using OrleansWs.Gateway.Host;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Hosting;

// A gateway on its own: an Orleans client that terminates WebSockets for the cluster's handlers.
// It maps handlers by grain type name, so it needs none of their code.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot") });
builder.Configuration.AddWebSocketHostDefaults();
// Shutdown is bounded even when the cluster or Redis is unreachable.
builder.Services.AddBoundedShutdown(TimeSpan.FromSeconds(20));
var config = builder.Configuration;

builder.UseOrleansClient(client => client.UseConfiguredClustering(config).AddOrleansWs(ClusterSettings.TopicPartitions(config)));
builder.Services.AddWebSocketGateway(builder.Configuration.GetSection("OrleansWs:Gateway"));

var app = builder.Build();
app.MapWebSocketGatewayHealth();
if (builder.Configuration.GetValue("OrleansWs:PeersApi", false))
{
    // Off by default: it lets any caller message or close any peer.
    app.MapWebSocketPeersApi();
}

var routes = config.GetSection("OrleansWs:Endpoints").GetChildren().ToDictionary(c => c.Key, c => c.Value!);
if (routes.Count == 0)
{
    // With the demo endpoints, the demo page (src/Silo/wwwroot) at /, so that a load balancer in front of gateways serves it.
    app.UseDefaultFiles();
    app.UseStaticFiles();
    // The demo endpoints of the embedded silo (the demo handlers of src/Silo/Demo).
    routes["/ws/echo"] = "echo";
    routes["/ws/chat"] = "chat";
    routes["/ws/room"] = "room";
    routes["/ws/counter"] = "counter";
    if (config["OrleansWs:Ledger:Redis"] is not null)
    {
        // The chaos run's ledger handler (scripts/chaos.sh).
        routes["/ws/ledger"] = "ledger";
    }
}

// Resume (docs/protocol.md) for the endpoints OrleansWs:Resume:Endpoints names (default: the demo's echo and chat).
var resumable = config.GetSection("OrleansWs:Resume:Endpoints").Get<string[]>() ?? ["/ws/echo", "/ws/chat"];
foreach (var (path, handlerType) in routes)
{
    app.MapWebSocketHandler(path, handlerType, o => o.Resume = resumable.Contains(path) ? new() : null);
}

app.Run();
