using System.Net;
using OrleansWs.Gateway.Hosting;

// A gateway on its own: an Orleans client that terminates WebSockets for the cluster's handlers.
// It maps handlers by grain type name, so it needs none of their code.
var builder = WebApplication.CreateBuilder(args);
var config = builder.Configuration;

builder.UseOrleansClient(client =>
{
    var gateways = (config["Orleans:Gateways"] ?? "127.0.0.1:30000")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(IPEndPoint.Parse)
        .ToArray();
    client.UseStaticClustering(gateways);
    client.Configure<Orleans.Configuration.ClusterOptions>(o =>
    {
        o.ClusterId = config["Orleans:ClusterId"] ?? "orleansws";
        o.ServiceId = config["Orleans:ServiceId"] ?? "orleansws";
    });
    client.AddOrleansWs();
});
builder.Services.AddWebSocketGateway(builder.Configuration.GetSection("OrleansWs:Gateway"));

var app = builder.Build();
app.MapGet("/healthz", () => Results.Text("ok\n"));
var routes = config.GetSection("OrleansWs:Endpoints").GetChildren().ToDictionary(c => c.Key, c => c.Value!);
if (routes.Count == 0)
{
    // The demo endpoints of the embedded silo (DESIGN.md §5).
    routes["/ws/echo"] = "echo";
    routes["/ws/chat"] = "chat";
}

foreach (var (path, handlerType) in routes)
{
    app.MapWebSocketHandler(path, handlerType);
}

app.Run();
