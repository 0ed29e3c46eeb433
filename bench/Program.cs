using OrleansWs.Bench;

// The OrleansWs benchmark tool. Scenarios drive the demo endpoints (/ws/echo, /ws/chat: src/Silo/Demo) on any server.
//   fanout: N subscribers in one room (spread over the given URLs), one publisher at R msgs/s;
//           reports publish→delivery latency, lost, duplicated and reordered deliveries, and
//           whether the sender got its own message (it must not).
//   capacity: fan-out with the rate doubled until loss or p99 > 100 ms, then bisected; the highest clean rate.
//   (echo and connect take --path, where {i} is the connection's index, modulo --groups for connect)
//   echo:   C connections × K messages in flight of B bytes for S seconds; msgs/s, round-trip
//           latency, and the CPU µs per message of the server processes named with --pid.
//   connect: C connections as fast as P dialers allow (connects/s, handshake p99), then held idle:
//           resident memory per connection of each --pid.
//   soak:   echo, a chat room and connection churn held for minutes; per-window latency, memory and
//           CPU, and their drift from the first window to the last.
//   crowd:  C idle peers in one room until M broadcasts reached them all (bench/crowd.sh: 30,000 peers).
//   resume: on a running cluster (bench/resume.sh): echo with resume off and on (CPU and store writes per message), idle
//           peers without and with it (memory per peer), then kill -9 of their gateway: resume time, publishes recovered.
//   chaos:  traffic through scripts/chaos.sh's cluster while faults hit silos and gateways; checks the failure model.
//   logs:   the topic log's candidates (Redis Streams, NATS JetStream) head to head: latency, CPU, loss under kill -9.
//   chart:  an SVG of a --json results file (throughput, CPU per message, latency per target).
return args switch
{
    ["fanout", .. var rest] => await FanoutScenario.Run(Arguments.Parse(rest)),
    ["capacity", .. var rest] => await FanoutScenario.Capacity(Arguments.Parse(rest)),
    ["echo", .. var rest] => await EchoScenario.Run(Arguments.Parse(rest)),
    ["connect", .. var rest] => await ConnectScenario.Run(Arguments.Parse(rest)),
    ["soak", .. var rest] => await SoakScenario.Run(Arguments.Parse(rest)),
    ["crowd", .. var rest] => await CrowdScenario.Run(Arguments.Parse(rest)),
    ["logs", .. var rest] => await LogScenario.Run(Arguments.Parse(rest)),
    ["resume", .. var rest] => await ResumeScenario.Run(Arguments.Parse(rest)),
    ["chaos", .. var rest] => await OrleansWs.Bench.Chaos.ChaosScenario.Run(Arguments.Parse(rest)),
    ["chart", var file, var svg] => Chart.Write(file, svg),
    ["report", var file] => Report.Print(file),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: OrleansWs.Bench fanout --url ws://127.0.0.1:5000[,ws://…] [--subscribers 50] [--rate 200] [--seconds 10] [--payload 64] [--pid 123,456]");
    Console.Error.WriteLine("       OrleansWs.Bench capacity --url ws://…[,ws://…] [--subscribers 100] [--rate 100] [--seconds 5] [--p99 100] [--max-rate 25600] [--refine 3] [--pid …] [--name capacity]");
    Console.Error.WriteLine("       OrleansWs.Bench echo --url ws://127.0.0.1:5000 [--path /ws/echo] [--connections 50] [--inflight 4] [--payload 64] [--seconds 10] [--pid 123,456] [--name echo]");
    Console.Error.WriteLine("       OrleansWs.Bench connect --url ws://127.0.0.1:5000 [--path /ws/echo] [--groups 0] [--connections 2000] [--parallel 64] [--hold 5] [--pid 123] [--name connect]");
    Console.Error.WriteLine("       OrleansWs.Bench soak --url ws://127.0.0.1:5000[,ws://…] [--minutes 3] [--window 30] [--echo 20] [--echo-rate 50] [--subscribers 20] [--room-rate 20] [--churn 10] [--pid 123]");
    Console.Error.WriteLine("       OrleansWs.Bench crowd --url ws://…[,ws://…] --room R [--connections 1000] [--messages 10] [--timeout 120] | crowd --url ws://… --room R --publish M");
    Console.Error.WriteLine("       OrleansWs.Bench resume --gateway ws://… --survivor ws://… --redis HOST:PORT --pid GATEWAY,SILO [--peers 1000] [--connections 50] [--seconds 10] [--rate 10] [--cluster scripts/cluster.sh] [--victim gateway1]");
    Console.Error.WriteLine("       OrleansWs.Bench logs [--broker redis|nats] [--count 20000] [--rate 2000] [--kill yes]");
    Console.Error.WriteLine("       OrleansWs.Bench report results.jsonl | chart results.jsonl chart.svg");
    Console.Error.WriteLine("       every scenario also takes --json FILE --target NAME to append its figures to FILE");
    return 2;
}
