using OrleansWs.Gateway.Hosting;
using OrleansWs.Hosting;
using OrleansWs.Protocol;
using OrleansWs.Silo.Demo;

// Embedded OrleansWs: one process hosts a silo (localhost clustering, memory storage and streams)
// and the gateway endpoints, co-hosted. Listens on http://localhost:5000 unless --urls says otherwise.
var builder = WebApplication.CreateBuilder(args);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(
        siloPort: builder.Configuration.GetValue("Orleans:SiloPort", 11111),
        gatewayPort: builder.Configuration.GetValue("Orleans:GatewayPort", 30000),
        serviceId: builder.Configuration["Orleans:ServiceId"] ?? "orleansws",
        clusterId: builder.Configuration["Orleans:ClusterId"] ?? "orleansws");
    silo.AddMemoryGrainStorage(OrleansWsNames.PeerStorage);
    silo.AddMemoryGrainStorage(OrleansWsNames.PubSubStorage);
    silo.AddOrleansWs(options => options.Bind(builder.Configuration.GetSection("OrleansWs:Silo")));
});
builder.Services.AddWebSocketGateway(builder.Configuration.GetSection("OrleansWs:Gateway"));

var app = builder.Build();
app.UseDefaultFiles();
app.UseStaticFiles();
app.MapGet("/healthz", () => Results.Text("ok\n"));
app.MapWebSocketHandler<EchoHandler>("/ws/echo");
app.MapWebSocketHandler<ChatHandler>("/ws/chat");
app.Run();
