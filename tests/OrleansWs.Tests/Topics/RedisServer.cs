using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace OrleansWs.Tests.Topics;

/// <summary>A throwaway Debian <c>redis-server</c> on 127.0.0.1 and a free port, stopped by its PID.</summary>
public sealed class RedisServer : IAsyncLifetime
{
    private Process? _process;

    public int Port { get; private set; }

    public ConfigurationOptions Options
    {
        get
        {
            var options = ConfigurationOptions.Parse($"127.0.0.1:{Port}");
            (options.ConnectTimeout, options.AsyncTimeout, options.SyncTimeout, options.AbortOnConnectFail) = (2000, 2000, 2000, false);
            return options;
        }
    }

    public async Task InitializeAsync()
    {
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        await Start();
    }

    /// <summary>Starts the server (again, after <see cref="Kill"/>), on the same port.</summary>
    public async Task Start()
    {
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Kills the server with SIGKILL: what it held in memory is gone.</summary>
    public async Task Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    public async Task DisposeAsync()
    {
        await Kill();
        _process?.Dispose();
    }
}
