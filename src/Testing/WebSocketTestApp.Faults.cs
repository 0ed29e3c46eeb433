using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.TestingHost;
using OrleansWs.Gateway;
using OrleansWs.Internal;

namespace OrleansWs.Testing;

// Faults a test injects (gateways and silos stopped or killed) and where grains live.
public sealed partial class WebSocketTestApp
{
    /// <summary>Stops a gateway gracefully: its peers are closed with 1001 and their grains run OnClose.</summary>
    public async Task StopGatewayAsync(int gateway)
    {
        var g = _gateways[gateway];
        if (!g.Stopped)
        {
            g.Stopped = true;
            await g.App.StopAsync();
            await g.App.DisposeAsync();
        }
    }

    /// <summary>
    /// Kills a gateway as if its process died: sockets drop without close frames and the cluster hears
    /// nothing more from it (no OnClose from it, no lease renewal, no lease given back).
    /// </summary>
    public async Task KillGatewayAsync(int gateway)
    {
        var g = _gateways[gateway];
        if (!g.Stopped)
        {
            g.Stopped = true;
            // What a dead process leaves: no lease renewed or given back, no delivery path, sockets
            // dropped without close frames, and no word to the grains of any of them (the gateway
            // fences itself as for a lost lease). Disposed without stopping: no shutdown runs.
            g.App.Services.GetRequiredService<GatewayLease>().Abandon();
            g.App.Services.GetRequiredService<ConnectionRegistry>().TerminateAll();
            await g.App.DisposeAsync();
        }
    }

    /// <summary>The silos that are running, in start order.</summary>
    public IReadOnlyList<InProcessSiloHandle> Silos => Cluster.GetActiveSilos().ToList();

    /// <summary>Starts one more silo.</summary>
    public Task<InProcessSiloHandle> StartSiloAsync() => Cluster.StartAdditionalSiloAsync();

    /// <summary>Stops a silo gracefully: its grains deactivate, writing nothing they had not written.</summary>
    public Task StopSiloAsync(InProcessSiloHandle silo) => Cluster.StopSiloAsync(silo);

    /// <summary>
    /// Kills a silo: its activations vanish; grains reactivate elsewhere from storage on their next call. From then on
    /// <see cref="TestLogSink.AssertNoErrorsSince"/> leaves out the Errors Orleans logs about the dead silo
    /// (<see cref="TestLogSink.IsInjectedFaultError"/>).
    /// </summary>
    public Task KillSiloAsync(InProcessSiloHandle silo)
    {
        Logs.FaultInjected();
        return Cluster.KillSiloAsync(silo);
    }

    /// <summary>The silo that hosts the peer's grain right now, or <see langword="null"/> when it has no activation.</summary>
    public InProcessSiloHandle? SiloOf(string peerId) => SiloOf(PeerIds.ToGrainId(peerId));

    /// <summary>The silo that hosts any grain (e.g. <c>grain.GetGrainId()</c> of a room grain) right now, or <see langword="null"/>.</summary>
    public InProcessSiloHandle? SiloOf(GrainId grain) =>
        Cluster.TryGetGrainContext(grain, out var context)
            ? Silos.FirstOrDefault(s => s.SiloAddress.Equals(context.Address.SiloAddress))
            : null;

    /// <summary>Waits until every running silo and the gateways agree on the membership (after a stop, kill or start).</summary>
    public Task WaitForClusterToSettle(bool afterKill = false) => Cluster.WaitForLivenessToStabilizeAsync(afterKill);

    /// <summary>Whether the peer's grain has an activation on any silo.</summary>
    public bool IsActive(string peerId) => IsActive(PeerIds.ToGrainId(peerId));

    /// <summary>Whether any grain has an activation on a silo now.</summary>
    public bool IsActive(GrainId grain) => Cluster.TryGetGrainContext(grain, out _);

    /// <summary>Deactivates the peer's grain and waits until it is gone (its socket stays open).</summary>
    public Task Deactivate(string peerId) => Deactivate(PeerIds.ToGrainId(peerId));

    /// <summary>Deactivates any grain (it reactivates from storage on its next call).</summary>
    public Task Deactivate(GrainId grain) => Cluster.DeactivateAsync(grain);

    /// <summary>Waits until the peer's grain has no activation left.</summary>
    public Task WaitForDeactivation(string peerId) => Cluster.WaitForDeactivationAsync(PeerIds.ToGrainId(peerId)).WaitAsync(Timeout);
}
