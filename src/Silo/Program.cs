using OrleansWs.Gateway.Hosting;
using OrleansWs.Hosting;
using OrleansWs.Silo;
using OrleansWs.Silo.Chaos;
using OrleansWs.Silo.Demo;

// Embedded OrleansWs: one process hosts a silo (localhost clustering, memory storage and streams)
// and the gateway endpoints, co-hosted. Listens on http://localhost:5000 unless --urls says otherwise.
// With OrleansWs:Cluster:Mode=redis or postgres it is one silo of a scaled cluster (see README "Scaling out").
// The demo page is served from beside the binaries, where the build puts it with the JavaScript client it loads.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot") });
builder.Configuration.AddWebSocketHostDefaults();
// Shutdown is bounded even when the cluster or Redis is unreachable.
builder.Services.AddBoundedShutdown(TimeSpan.FromSeconds(20));
// Before UseOrleans: a database schema is in place before the silo reads its queries.
ClusterConfiguration.AddStorageSetup(builder.Services, builder.Configuration);
builder.UseOrleans(silo =>
{
    ClusterConfiguration.Configure(silo, builder.Configuration);
    silo.AddOrleansWs(options => options.Bind(builder.Configuration.GetSection("OrleansWs:Silo"))
        .Configure(o => o.TopicPartitions = ClusterSettings.TopicPartitions(builder.Configuration)));
    // The demo's room counters, stored wherever peer state is.
    silo.AddOrleansWsStorage(CounterGrain.Storage);
});
builder.Services.AddWebSocketGateway(builder.Configuration.GetSection("OrleansWs:Gateway"));
// The chaos run's ledger handler (scripts/chaos.sh), only when it names a Redis for the ledger.
var ledger = builder.Configuration["OrleansWs:Ledger:Redis"];
if (ledger is not null)
{
    builder.Services.AddSingleton<StackExchange.Redis.IConnectionMultiplexer>(_ => StackExchange.Redis.ConnectionMultiplexer.Connect(ledger));
    builder.Services.AddSingleton<Ledger>();
}

var app = builder.Build();
app.UseDefaultFiles();
app.UseStaticFiles();
app.MapWebSocketGatewayHealth();
if (builder.Configuration.GetValue("OrleansWs:PeersApi", false))
{
    // Off by default: it lets any caller message or close any peer.
    app.MapWebSocketPeersApi();
}

// Echo and chat offer resume to clients that ask for it (docs/protocol.md); plain clients see no difference.
app.MapWebSocketHandler<EchoHandler>("/ws/echo", o => o.Resume = new());
app.MapWebSocketHandler<ChatHandler>("/ws/chat", o => o.Resume = new());
app.MapWebSocketHandler<RoomHandler>("/ws/room");
app.MapWebSocketHandler<CounterHandler>("/ws/counter");
if (ledger is not null)
{
    app.MapWebSocketHandler<LedgerHandler>("/ws/ledger");
}

app.Run();
