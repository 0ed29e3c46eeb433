namespace OrleansWs.Bench.Chaos;

/// <summary>
/// The chaos run (scripts/chaos.sh starts the cluster and calls this): traffic through the load balancer while one fault
/// at a time hits a silo or a gateway, then every invariant of the failure model checked against what the clients saw,
/// the ledger the handler kept in Redis, the store, the processes' memory and their logs.
/// </summary>
internal static class ChaosScenario
{
    public static async Task<int> Run(Arguments args)
    {
        var endpoint = new Uri(args.Get("url", "ws://127.0.0.1:17080") + "/ws/ledger");
        var minutes = double.Parse(args.Get("minutes", "2"), System.Globalization.CultureInfo.InvariantCulture);
        var seed = args.Get("seed", 1);
        var runDir = args.Get("run-dir", ".run/chaos");
        var random = new Random(seed);
        var faults = new ChaosFaults(args.Get("cluster", "scripts/cluster.sh"), args.Get("silos", 2), args.Get("gateways", 3), random);
        var load = new ChaosLoad(endpoint, rooms: args.Get("rooms", 3), subscribers: args.Get("subscribers", 8), echoes: args.Get("echoes", 6), seed);
        var resumers = new ChaosResumers(new Uri(args.Get("url", "ws://127.0.0.1:17080") + "/ws/echo"), args.Get("resumers", 6));
        var memory = new MemoryWatch(runDir);
        var started = DateTime.UtcNow;
        var end = started + TimeSpan.FromMinutes(minutes);
        Console.WriteLine($"{started:HH:mm:ss.fff} chaos: {minutes} min, seed {seed}, {endpoint}");

        await resumers.Start();
        await load.Start();
        await Task.Delay(TimeSpan.FromSeconds(10));
        var atStart = memory.Sample();
        // The last fault must have recovered before the end: a fault cycle takes up to about 40 s.
        while (DateTime.UtcNow + TimeSpan.FromSeconds(30) < end)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(3000, 8000)));
            await faults.InjectNext(load);
            memory.Sample();
        }

        var stopping = DateTime.UtcNow;
        Console.WriteLine($"{stopping:HH:mm:ss.fff} stopping the traffic");
        await load.Stop();
        await resumers.Stop();
        var atEnd = memory.Sample();

        // Closes of peers whose gateway died finish within its lease (5 s) and the registry's check; then the ledger is final.
        await Task.Delay(TimeSpan.FromSeconds(args.Get("settle", 12)));
        var checks = new ChaosChecks(args.Get("redis", "127.0.0.1:17000"), runDir, faults.Done);
        await checks.Ledger(load.Connections);
        checks.Publishes(load.Publications, load.Connections, TimeSpan.FromSeconds(2));
        checks.Resumers(resumers.Clients);
        checks.Recovery(TimeSpan.FromSeconds(args.Get("served-within", 20)));
        checks.Memory(memory.Survivors(atStart, atEnd));
        checks.Logs();
        checks.Minimums(minimumPeers: 100, minimumDeliveries: 1000, load.EchoErrors);
        checks.Report(started, DateTime.UtcNow, args.Get("json", ""));
        return checks.Failures.Count == 0 ? 0 : 1;
    }
}
