using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Orleans.Serialization;
using OrleansWs.Internal;
using OrleansWs.Topics;
using StackExchange.Redis;

namespace OrleansWs.Bench;

/// <summary>
/// The topic log's two candidates head to head, each on a broker process this scenario starts on 127.0.0.1 (a free
/// port, a temporary folder, stopped by PID): Redis Streams through OrleansWs' own log (<see cref="RedisTopicLog"/>:
/// one script per publish, a reader woken by the partition's channel) and NATS JetStream (a file stream with limits
/// retention, publishes acknowledged by the server, an ordered consumer). A run publishes --count publishes at --rate
/// from 4 publishers and reads them with one reader: publish→delivery latency, and the broker's CPU per delivery.
/// With --kill, the broker is killed with SIGKILL halfway and restarted on the same folder: publishers retry until
/// acknowledged, and every acknowledged publish must be in the log afterwards.
/// </summary>
internal static class LogScenario
{
    public static async Task<int> Run(Arguments args)
    {
        var broker = args.Get("broker", "redis");
        var (count, rate) = (args.Get("count", 20_000), args.Get("rate", 2_000));
        var kill = args.Get("kill", "no") == "yes";
        await using var server = await Broker.Start(broker);
        await using ILogClient client = broker == "nats" ? await NatsClient.Create(server.Port) : RedisClient.Create(server.Port);

        var latencies = new ConcurrentBag<double>();
        var received = new ConcurrentDictionary<long, int>();
        using var reading = new CancellationTokenSource();
        var reader = client.Read(payload =>
        {
            var seq = BinaryPrimitives.ReadInt64LittleEndian(payload);
            var sent = BinaryPrimitives.ReadInt64LittleEndian(payload.AsSpan(8));
            latencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            received.AddOrUpdate(seq, 1, (_, n) => n + 1);
        }, reading.Token);

        // The broker's own CPU, on a run that does not replace its process.
        var sampler = new ProcessSampler(kill ? [] : [server.Pid]);
        var before = sampler.Sample();
        var storedBefore = await client.StoredBytes();
        var acknowledged = new ConcurrentBag<long>();
        var retries = 0;
        var next = -1L;
        var clock = Stopwatch.StartNew();
        var publishers = Enumerable.Range(0, 4).Select(async p =>
        {
            while (true)
            {
                var seq = Interlocked.Increment(ref next);
                if (seq >= count)
                {
                    return;
                }

                if (kill && seq == count / 2)
                {
                    await server.KillAndRestart();
                }

                // Paced: publish seq is due at seq / rate seconds.
                var due = TimeSpan.FromSeconds((double)seq / rate) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due);
                }

                var payload = new byte[64];
                BinaryPrimitives.WriteInt64LittleEndian(payload, seq);
                while (true)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(8), Stopwatch.GetTimestamp());
                    try
                    {
                        await client.Publish($"room-{seq % 16}", payload).WaitAsync(TimeSpan.FromSeconds(5));
                        acknowledged.Add(seq);
                        break;
                    }
                    catch (Exception) when (kill && clock.Elapsed < TimeSpan.FromMinutes(2))
                    {
                        Interlocked.Increment(ref retries);
                        await Task.Delay(100);
                    }
                }
            }
        }).ToArray();
        await Task.WhenAll(publishers);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (received.Count < acknowledged.Count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var after = sampler.Sample();
        var stored = (await client.StoredBytes() - storedBefore) / Math.Max(1, acknowledged.Count);
        await reading.CancelAsync();
        await reader.ContinueWith(_ => { });
        var missing = kill ? await client.Missing([.. acknowledged]) : acknowledged.Count(s => !received.ContainsKey(s));
        var sorted = latencies.Order().ToArray();
        var cpu = ProcessSampler.ServerCpuSeconds(before, after);
        Console.WriteLine($"{broker}{(kill ? " (killed -9 halfway)" : "")}: {acknowledged.Count} acknowledged of {count} at {rate}/s, " +
            $"delivered {received.Count} (duplicates {received.Values.Count(n => n > 1)}), missing from the log {missing}, publish retries {retries}");
        Console.WriteLine($"  publish→delivery p50 {Stats.Percentile(sorted, 0.5):F2} ms, p99 {Stats.Percentile(sorted, 0.99):F2} ms; " +
            (kill ? "" : $"broker CPU {cpu * 1e6 / Math.Max(1, received.Count):F1} µs per delivery, broker RSS {after[0].RssBytes / 1048576.0:F0} MiB, {stored} bytes stored per publish of 64"));
        return missing == 0 ? 0 : 1;
    }

    private interface ILogClient : IAsyncDisposable
    {
        Task Publish(string topic, byte[] payload);

        Task Read(Action<byte[]> onPayload, CancellationToken cancellationToken);

        /// <summary>What the broker holds (Redis: used memory; JetStream: the stream's bytes).</summary>
        Task<long> StoredBytes();

        /// <summary>How many of <paramref name="acknowledged"/> the log does not hold, read from its start.</summary>
        Task<int> Missing(IReadOnlyCollection<long> acknowledged);
    }

    private sealed class RedisClient(RedisTopicLog log, ServiceProvider services, ConnectionMultiplexer info) : ILogClient
    {
        public static RedisClient Create(int port)
        {
            var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
            var options = ConfigurationOptions.Parse($"127.0.0.1:{port}");
            (options.ConnectTimeout, options.AsyncTimeout, options.SyncTimeout, options.AbortOnConnectFail, options.AllowAdmin) = (2000, 2000, 2000, false, true);
            return new(new RedisTopicLog(options, "bench:", TopicLogLimits.Default, services.GetRequiredService<Serializer>(), NullLogger<RedisTopicLog>.Instance), services,
                ConnectionMultiplexer.Connect(options));
        }

        public async Task<long> StoredBytes()
        {
            var memory = (await info.GetServers()[0].InfoAsync("memory")).SelectMany(g => g).First(e => e.Key == "used_memory");
            return long.Parse(memory.Value);
        }

        public Task Publish(string topic, byte[] payload) => log.Append(0, topic, [new TopicEvent(Message.FromBytes(payload), null)]);

        public async Task Read(Action<byte[]> onPayload, CancellationToken cancellationToken)
        {
            var after = TopicPosition.Start;
            while (!cancellationToken.IsCancellationRequested)
            {
                TopicBatch[] batches;
                try
                {
                    batches = await log.Read(0, after, 256, TimeSpan.FromSeconds(1), cancellationToken);
                }
                catch (RedisException)
                {
                    await Task.Delay(100, cancellationToken);
                    continue;
                }

                foreach (var batch in batches)
                {
                    onPayload(batch.Events[0].Message.Data);
                    after = new TopicPosition(batch.Token.SequenceNumber);
                }
            }
        }

        public async Task<int> Missing(IReadOnlyCollection<long> acknowledged)
        {
            var held = new HashSet<long>();
            var after = TopicPosition.Start;
            while (await log.Read(0, after, 1000, TimeSpan.Zero, CancellationToken.None) is { Length: > 0 } batches)
            {
                foreach (var batch in batches)
                {
                    held.Add(BinaryPrimitives.ReadInt64LittleEndian(batch.Events[0].Message.Data));
                    after = new TopicPosition(batch.Token.SequenceNumber);
                }
            }

            return acknowledged.Count(s => !held.Contains(s));
        }

        public async ValueTask DisposeAsync()
        {
            log.Dispose();
            await info.DisposeAsync();
            await services.DisposeAsync();
        }
    }

    private sealed class NatsClient(NatsConnection nats, NatsJSContext js) : ILogClient
    {
        private const string Stream = "OWS";

        public static async Task<NatsClient> Create(int port)
        {
            var nats = new NatsConnection(new NatsOpts { Url = $"nats://127.0.0.1:{port}" });
            var js = new NatsJSContext(nats);
            await js.CreateStreamAsync(new StreamConfig(Stream, ["ows.>"])
            {
                Storage = StreamConfigStorage.File,
                Retention = StreamConfigRetention.Limits,
                MaxMsgs = 100_000,
                MaxAge = TimeSpan.FromMinutes(10),
            });
            return new(nats, js);
        }

        public async Task Publish(string topic, byte[] payload) => (await js.PublishAsync($"ows.t.{topic}", payload)).EnsureSuccess();

        public async Task<long> StoredBytes() => (long)(await js.GetStreamAsync(Stream)).Info.State.Bytes;

        public async Task Read(Action<byte[]> onPayload, CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var consumer = await js.CreateOrderedConsumerAsync(Stream, cancellationToken: cancellationToken);
                    await foreach (var message in consumer.ConsumeAsync<byte[]>(cancellationToken: cancellationToken))
                    {
                        onPayload(message.Data!);
                    }
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    await Task.Delay(100, cancellationToken);
                }
            }
        }

        public async Task<int> Missing(IReadOnlyCollection<long> acknowledged)
        {
            var held = new HashSet<long>();
            var consumer = await js.CreateOrderedConsumerAsync(Stream);
            await foreach (var message in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1_000_000 }))
            {
                held.Add(BinaryPrimitives.ReadInt64LittleEndian(message.Data));
            }

            return acknowledged.Count(s => !held.Contains(s));
        }

        public ValueTask DisposeAsync() => nats.DisposeAsync();
    }

    // A broker process of our own: redis-server with its append-only file (fsync every second), or nats-server with
    // JetStream, each on a free port and a temporary folder that a restart keeps.
    private sealed class Broker(string kind, int port, string folder) : IAsyncDisposable
    {
        private Process _process = null!;

        public int Port => port;

        public int Pid => _process.Id;

        public static async Task<Broker> Start(string kind)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var broker = new Broker(kind, port, Directory.CreateTempSubdirectory("orleansws-log-").FullName);
            await broker.Launch();
            return broker;
        }

        private async Task Launch()
        {
            var start = kind == "nats"
                ? new ProcessStartInfo("nats-server", ["-js", "-a", "127.0.0.1", "-p", port.ToString(), "-sd", folder])
                : new ProcessStartInfo("redis-server", ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", folder]);
            (start.RedirectStandardOutput, start.RedirectStandardError) = (true, true);
            _process = Process.Start(start)!;
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            for (var i = 0; i < 100; i++)
            {
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    return;
                }
                catch (SocketException)
                {
                    await Task.Delay(50);
                }
            }
        }

        public async Task KillAndRestart()
        {
            _process.Kill();
            await _process.WaitForExitAsync();
            await Task.Delay(1000);
            await Launch();
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }

            Directory.Delete(folder, recursive: true);
        }
    }
}
