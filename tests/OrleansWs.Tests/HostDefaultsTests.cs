using Microsoft.Extensions.Configuration;
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
}
