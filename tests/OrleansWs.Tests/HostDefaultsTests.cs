using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using OrleansWs.Gateway.Hosting;
using OrleansWs.Hosting;

namespace OrleansWs.Tests;

public sealed class HostDefaultsTests
{
    private const string HostingDiagnostics = "Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics";

    [Fact]
    public void Per_request_diagnostics_are_off_by_default_and_any_configuration_source_turns_them_back_on()
    {
        var defaults = new ConfigurationBuilder().AddInMemoryCollection([new("Logging:LogLevel:Default", "Warning")]);
        defaults.AddWebSocketHostDefaults();
        Assert.Equal("None", defaults.Build()[HostingDiagnostics]);

        // Added before or after the defaults, the application's own setting wins.
        var overridden = new ConfigurationBuilder().AddInMemoryCollection([new(HostingDiagnostics, "Information")]);
        overridden.AddWebSocketHostDefaults();
        Assert.Equal("Information", overridden.Build()[HostingDiagnostics]);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("true", true)]
    public void Log_scopes_are_not_captured_unless_configured(string? setting, bool captured)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(setting is null ? [] : [new("Logging:CaptureScopes", setting)]);
        configuration.AddWebSocketHostDefaults();
        var config = configuration.Build();

        // As WebApplication.CreateBuilder wires it: the "Logging" section configures the filter options.
        using var services = new ServiceCollection()
            .AddLogging(logging => logging.AddConfiguration(config.GetSection("Logging")))
            .BuildServiceProvider();
        Assert.Equal(captured, services.GetRequiredService<IOptions<LoggerFilterOptions>>().Value.CaptureScopes);
    }
}

public sealed class GrainStorageRegistrationTests
{
    [Fact]
    public void A_grain_storage_added_with_AddOrleansWsStorage_is_the_peer_state_store_itself()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering();
            silo.AddMemoryGrainStorage(OrleansWsStorage.PeerState);
            silo.AddOrleansWs();
            silo.AddOrleansWsStorage("rooms");

            // Its own names, and a name the silo already has, are refused: one store, registered once.
            Assert.Throws<ArgumentException>(() => silo.AddOrleansWsStorage(OrleansWsStorage.PeerState));
            Assert.Throws<ArgumentException>(() => silo.AddOrleansWsStorage("rooms"));
            silo.AddMemoryGrainStorage("mine");
            Assert.Throws<ArgumentException>(() => silo.AddOrleansWsStorage("mine"));
        });
        using var host = builder.Build();
        var peers = host.Services.GetRequiredKeyedService<IGrainStorage>(OrleansWsStorage.PeerState);
        Assert.Same(peers, host.Services.GetRequiredKeyedService<IGrainStorage>("rooms"));
    }
}
