namespace OrleansWs.SystemTests;

/// <summary>
/// The short chaos run (scripts/chaos.sh, two minutes, a fixed seed) as part of the test command: one fault at a time on
/// the local topology, and every invariant of the failure model checked afterwards (docs/scaling-out.md "The chaos run").
/// </summary>
public sealed class ChaosTests
{
    [Fact]
    public async Task A_two_minute_chaos_run_keeps_every_invariant_of_the_failure_model()
    {
        var root = LocalCluster.FindRoot();
        var environment = new Dictionary<string, string>
        {
            ["CHAOS_MINUTES"] = "2",
            ["CHAOS_SEED"] = "1",
            ["OWS_PORT_BASE"] = LocalCluster.FreePortBase().ToString(),
            ["OWS_RUN_DIR"] = Path.Combine(Path.GetTempPath(), "orleansws-chaos-" + Guid.NewGuid().ToString("N")[..8]),
        };
        var passed = false;
        try
        {
            var run = await ProcessRun.Run("bash", [Path.Combine(root, "scripts", "chaos.sh")], TimeSpan.FromMinutes(10), root, environment);
            Assert.True(run.ExitCode == 0, $"chaos.sh exited {run.ExitCode} (logs in {environment["OWS_RUN_DIR"]}):\n{run.Output}\n{run.Errors}");
            Assert.Contains("chaos: every invariant held", run.Output);
            passed = true;
        }
        finally
        {
            // Whatever happened, no process of the run outlives the test; its logs are kept only when it failed.
            await ProcessRun.Run("bash", [Path.Combine(root, "scripts", "cluster.sh"), "down"], TimeSpan.FromMinutes(1), root, environment);
            if (passed)
            {
                Directory.Delete(environment["OWS_RUN_DIR"], recursive: true);
            }
        }
    }
}
