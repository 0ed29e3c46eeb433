using System.Text.RegularExpressions;

namespace OrleansWs.SystemTests;

/// <summary>Docker does not run here, so the compose file is kept honest against the script that does run.</summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string Root = LocalCluster.FindRoot();

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
    public void Both_load_balancers_forward_WebSocket_upgrades_to_every_gateway_there_is()
    {
        foreach (var file in new[] { "nginx.local.conf", "nginx.compose.conf" })
        {
            var conf = File.ReadAllText(Path.Combine(Root, "deploy", file));
            Assert.Contains("proxy_set_header Upgrade $http_upgrade;", conf);
            Assert.Contains("proxy_set_header Connection $connection_upgrade;", conf);
            Assert.Contains("proxy_http_version 1.1;", conf);
        }

        // The script writes one server line per running gateway (the scale test reads them back through nginx).
        var local = File.ReadAllText(Path.Combine(Root, "deploy", "nginx.local.conf"));
        Assert.Matches(new Regex(@"upstream gateways \{[^}]*^\s*@GATEWAYS@\s*$", RegexOptions.Multiline), local);

        // Compose has one gateway service with replicas; nginx resolves its name again and again, so
        // --scale gateway=N needs no edit. Open-source nginx has `resolve` since 1.27.3.
        var compose = File.ReadAllText(Path.Combine(Root, "deploy", "nginx.compose.conf"));
        Assert.Matches(new Regex(@"^\s*resolver 127\.0\.0\.11 valid=\d+s", RegexOptions.Multiline), compose);
        Assert.Matches(@"upstream gateways \{\s*zone \w+ \d+k;[^}]*server gateway:8080 resolve ", compose);
        Assert.Single(Regex.Matches(compose, @"^\s*server \S+:\d+", RegexOptions.Multiline));
        var image = Regex.Match(File.ReadAllText(Path.Combine(Root, "docker-compose.yml")), @"image: nginx:(\d+)\.(\d+)");
        Assert.True(image.Success, "the load balancer's nginx image has no major.minor version");
        Assert.True(new Version(int.Parse(image.Groups[1].Value), int.Parse(image.Groups[2].Value)) >= new Version(1, 28), image.Value);
    }

    [Fact]
    public void Compose_scales_gateways_as_one_service()
    {
        var compose = File.ReadAllText(Path.Combine(Root, "docker-compose.yml"));
        var services = Services(compose);
        Assert.Equal(new[] { "redis", "silo1", "silo2", "gateway", "lb" }, services.Keys.ToArray());

        // A replica can have no fixed name or host port of its own, and the PostgreSQL override must not bring numbered ones back.
        Assert.DoesNotMatch(new Regex(@"^\s+(ports|container_name|hostname):", RegexOptions.Multiline), services["gateway"]);
        Assert.Contains("deploy: { replicas: 2 }", services["gateway"]);
        Assert.Contains("gateway: { condition: service_healthy }", services["lb"]);
        var postgres = Services(File.ReadAllText(Path.Combine(Root, "docker-compose.postgres.yml")));
        Assert.Equal(new[] { "postgres", "silo1", "silo2", "gateway" }, postgres.Keys.ToArray());
    }

    // The top-level services of a compose file and the text of each, in file order.
    private static Dictionary<string, string> Services(string compose)
    {
        var body = compose[(compose.IndexOf("\nservices:\n", StringComparison.Ordinal) + 11)..];
        return Regex.Matches(body, @"^  (\w+):(.*?)(?=^  \w+:|\z)", RegexOptions.Multiline | RegexOptions.Singleline)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
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
}
