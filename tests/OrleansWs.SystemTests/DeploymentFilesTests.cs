using System.Text.RegularExpressions;

namespace OrleansWs.SystemTests;

/// <summary>Docker does not run here, so the compose file is kept honest against the script that does run.</summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string Root = FindRoot();

    [Fact]
    public void Compose_and_cluster_script_use_the_same_configuration_names()
    {
        var compose = File.ReadAllText(Path.Combine(Root, "docker-compose.yml"));
        var postgres = File.ReadAllText(Path.Combine(Root, "docker-compose.postgres.yml"));
        var script = File.ReadAllText(Path.Combine(Root, "scripts", "cluster.sh"));
        var composeNames = Names(compose + postgres);
        var scriptNames = Names(script);

        // Names only the script needs: it opens the peers API for its system tests and quiets logs.
        Assert.Equal(
            scriptNames.Except(["OrleansWs__PeersApi"]).Order(),
            composeNames.Except(["OrleansWs__Cluster__AdvertisedHost"]).Order());
        Assert.Contains("OrleansWs__Cluster__Mode: redis", compose);
        Assert.Contains("OrleansWs__Cluster__Mode: postgres", postgres);
        Assert.Contains("OrleansWs__Cluster__Mode=redis", script);
        Assert.Contains("OrleansWs__Cluster__Mode=postgres", script);

        // Silos of their own run workstation GC in both (the embedded default stays server GC).
        Assert.Equal(2, Regex.Matches(compose, "DOTNET_gcServer: \"0\"").Count);
        Assert.Contains("DOTNET_gcServer=0 ", script);
    }

    [Fact]
    public void Both_load_balancers_forward_WebSocket_upgrades_and_route_to_both_gateways()
    {
        foreach (var file in new[] { "nginx.local.conf", "nginx.compose.conf" })
        {
            var conf = File.ReadAllText(Path.Combine(Root, "deploy", file));
            Assert.Contains("proxy_set_header Upgrade $http_upgrade;", conf);
            Assert.Contains("proxy_set_header Connection $connection_upgrade;", conf);
            Assert.Contains("proxy_http_version 1.1;", conf);
            Assert.Equal(2, Regex.Matches(conf, @"^\s*server \S+ max_fails", RegexOptions.Multiline).Count);
        }
    }

    [Fact]
    public void Compose_health_checks_use_readyz_and_the_dockerfiles_exist()
    {
        var compose = File.ReadAllText(Path.Combine(Root, "docker-compose.yml"));
        Assert.Equal(2, Regex.Matches(compose, "/readyz").Count);
        foreach (var dockerfile in Regex.Matches(compose, @"dockerfile: (\S+) ").Select(m => m.Groups[1].Value))
        {
            Assert.True(File.Exists(Path.Combine(Root, dockerfile)), dockerfile + " is missing");
        }
    }

    private static string[] Names(string text) =>
        NamePattern().Matches(text).Select(m => m.Value).Where(n => !n.EndsWith("Port", StringComparison.Ordinal)).Distinct().ToArray();

    [GeneratedRegex(@"OrleansWs__[A-Za-z_]+")]
    private static partial Regex NamePattern();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OrleansWs.sln")))
        {
            dir = dir.Parent;
        }

        return dir!.FullName;
    }
}
