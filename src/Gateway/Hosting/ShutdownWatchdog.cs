using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace OrleansWs.Gateway.Hosting;

/// <summary>
/// Bounds shutdown for real. Orleans keeps retrying membership updates while stopping, and with Redis
/// unreachable a silo can outlive its <see cref="HostOptions.ShutdownTimeout"/> by minutes. Peer state is
/// written before any effect leaves a grain, so ending the process then loses nothing acknowledged.
/// </summary>
internal sealed partial class ShutdownWatchdog(IHostApplicationLifetime lifetime, IOptions<HostOptions> host, ILogger<ShutdownWatchdog> logger) : IHostedService
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(() => _ = Watch());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task Watch()
    {
        var limit = host.Value.ShutdownTimeout + Grace;
        await Task.Delay(limit);
        if (!lifetime.ApplicationStopped.IsCancellationRequested)
        {
            LogShutdownHung(limit.TotalSeconds);
            Process.GetCurrentProcess().Kill();
        }
    }

    [LoggerMessage(EventId = 20, EventName = "ShutdownHung", Level = LogLevel.Error, Message = "Shutdown still running {Seconds} s after it began (is the cluster's storage reachable?); ending the process.")]
    private partial void LogShutdownHung(double seconds);
}
