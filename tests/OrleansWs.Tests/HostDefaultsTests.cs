using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansWs.Gateway.Hosting;

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
