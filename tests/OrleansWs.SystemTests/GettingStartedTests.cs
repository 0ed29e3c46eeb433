using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace OrleansWs.SystemTests;

/// <summary>
/// docs/getting-started.md, followed to the letter: every file it shows is written into an empty folder, with this
/// repository as the clone it references, then its build and test commands run there.
/// </summary>
public sealed partial class GettingStartedTests(ITestOutputHelper output)
{
    private static readonly string Root = LocalCluster.FindRoot();

    [Fact]
    public async Task The_getting_started_page_builds_and_its_tests_pass()
    {
        var files = Files(File.ReadAllText(Path.Combine(Root, "docs", "getting-started.md")));
        Assert.Equal(
            new[] { "CounterRooms/CounterRooms.csproj", "CounterRooms/Rooms.cs", "CounterRooms/CounterRoomsApp.cs", "CounterRooms/Program.cs",
                "CounterRooms.Tests/CounterRooms.Tests.csproj", "CounterRooms.Tests/RoomTests.cs" },
            files.Keys.ToArray());

        // The page's handler and composition are the sample's, which the sample tests run on two silos.
        var sample = Path.Combine(Root, "tests", "OrleansWs.Sample.Tests", "CounterRooms");
        Assert.Equal(File.ReadAllText(Path.Combine(sample, "Rooms.cs")).TrimEnd(), files["CounterRooms/Rooms.cs"].TrimEnd());
        Assert.Equal(File.ReadAllText(Path.Combine(sample, "CounterRoomsApp.cs")).TrimEnd(), files["CounterRooms/CounterRoomsApp.cs"].TrimEnd());

        var work = Directory.CreateTempSubdirectory("orleansws-getting-started-");
        try
        {
            // One substitution: where the clone is (the page puts it beside the app, as OrleansWs/).
            var app = Path.Combine(work.FullName, "counter-rooms");
            foreach (var (path, text) in files)
            {
                var file = Path.Combine(app, path);
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                var clone = Path.GetRelativePath(Path.GetDirectoryName(file)!, Root).Replace('\\', '/') + "/";
                await File.WriteAllTextAsync(file, text.Replace("../../OrleansWs/", clone, StringComparison.Ordinal));
            }

            // The repository's projects are already built (this test project depends on them), so the app's commands
            // build only the app's own projects and leave the repository's outputs alone.
            // In the configuration this test was built in, whose outputs the app's projects reference.
            string[] appOnly = ["-c", Configuration, "-p:BuildProjectReferences=false"];
            await Dotnet(app, ["build", "CounterRooms", .. appOnly]);
            var summary = TestSummary().Match(await Dotnet(app, ["test", "CounterRooms.Tests", .. appOnly]));
            Assert.True(summary.Success, "dotnet test printed no summary");
            Assert.Equal(("0", "2"), (summary.Groups["failed"].Value, summary.Groups["passed"].Value));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    // "### `path`" followed by a fenced block: the file at that path of the app folder.
    private static Dictionary<string, string> Files(string page) =>
        FileBlock().Matches(page).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value + "\n");

    [GeneratedRegex(@"^### `([^`]+)`\s*\n+```\w*\n(.*?)\n```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FileBlock();

    [GeneratedRegex(@"Failed: +(?<failed>\d+), Passed: +(?<passed>\d+)")]
    private static partial Regex TestSummary();

    private static string Configuration => AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    // The nested run's summary must not read as this run's own: .ci/run sums every "Passed: N" it sees.
    private static string Quoted(string text) => text.Replace("Passed:", "passed =").Replace("Failed:", "failed =");

    private async Task<string> Dotnet(string directory, string[] args)
    {
        var environment = new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" };
        var run = await ProcessRun.Run("dotnet", args, TimeSpan.FromMinutes(5), directory, environment);
        var text = run.Output + run.Errors;
        output.WriteLine($"$ dotnet {string.Join(' ', args)}\n{Quoted(text)}");
        Assert.True(run.ExitCode == 0, $"dotnet {string.Join(' ', args)} failed ({run.ExitCode}):\n{Quoted(text)}");
        return text;
    }
}
